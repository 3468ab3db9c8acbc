// WebAuthn ceremonies for Bastion, with no inline script (the CSP forbids it).
//
// A button carrying data-webauthn="create" (register a key) or "get" (use one) inside a form
// runs one ceremony: it POSTs the form to data-options-url, hands the options to
// navigator.credentials, then POSTs {credential, fields} as JSON to data-verify-url. The server
// answers {redirect} or {error}; errors appear in the form's [data-webauthn-status] element.

const b64urlToBuffer = (text) => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
};

const bufferToB64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

const decodeDescriptors = (list) =>
  (list || []).map((item) => ({ ...item, id: b64urlToBuffer(item.id) }));

function creationOptions(options) {
  return {
    ...options,
    challenge: b64urlToBuffer(options.challenge),
    user: { ...options.user, id: b64urlToBuffer(options.user.id) },
    excludeCredentials: decodeDescriptors(options.excludeCredentials),
  };
}

function requestOptions(options) {
  return {
    ...options,
    challenge: b64urlToBuffer(options.challenge),
    allowCredentials: decodeDescriptors(options.allowCredentials),
  };
}

function serialize(credential) {
  const response = credential.response;
  const out = {
    id: credential.id,
    rawId: bufferToB64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || null,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: bufferToB64url(response.clientDataJSON) },
  };
  if (response.attestationObject) {
    out.response.attestationObject = bufferToB64url(response.attestationObject);
    out.response.transports = response.getTransports ? response.getTransports() : [];
  } else {
    out.response.authenticatorData = bufferToB64url(response.authenticatorData);
    out.response.signature = bufferToB64url(response.signature);
    out.response.userHandle = response.userHandle ? bufferToB64url(response.userHandle) : null;
  }
  return out;
}

async function ceremony(button) {
  const form = button.closest("form");
  const status = form.querySelector("[data-webauthn-status]");
  const say = (text) => { if (status) status.textContent = text; };
  const formData = new FormData(form);
  const csrf = formData.get("csrfmiddlewaretoken");
  const fields = Object.fromEntries([...formData.entries()].filter(([k]) => k !== "csrfmiddlewaretoken"));
  button.disabled = true;
  say("Waiting for your security key…");
  try {
    const optionsReply = await fetch(button.dataset.optionsUrl, {
      method: "POST", body: formData, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
    });
    const options = await optionsReply.json();
    if (!optionsReply.ok) { say(options.error || "The request was refused."); return; }
    const credential = button.dataset.webauthn === "create"
      ? await navigator.credentials.create({ publicKey: creationOptions(options) })
      : await navigator.credentials.get({ publicKey: requestOptions(options) });
    const verifyReply = await fetch(button.dataset.verifyUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ credential: serialize(credential), fields }),
    });
    const answer = await verifyReply.json();
    if (answer.redirect) { window.location.assign(answer.redirect); return; }
    say(answer.error || "The key's answer was refused.");
  } catch (error) {
    say(`The security key did not answer: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

for (const button of document.querySelectorAll("[data-webauthn]")) {
  if (!window.PublicKeyCredential) {
    button.disabled = true;
    button.title = "This browser does not support security keys.";
    continue;
  }
  button.addEventListener("click", (event) => { event.preventDefault(); ceremony(button); });
}
