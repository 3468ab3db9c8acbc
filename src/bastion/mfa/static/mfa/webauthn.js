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

// What the browser's refusal means to the person at the key, by the error's name (WebAuthn
// section 5.1.3 and 5.1.4); the browser's own text names the specification, not the fix.
function explain(error, registering) {
  switch (error && error.name) {
    case "InvalidStateError":
      return registering
        ? "This security key or passkey is already registered to your account."
        : "This security key cannot be used here. Try another one, or another method.";
    case "NotAllowedError":
      return registering
        ? "Registration was cancelled or timed out. Try again, and touch or unlock your key when it asks."
        : "Cancelled or timed out, or no key or passkey here is registered for this account. " +
          "Try again, or use another method.";
    case "SecurityError":
      return "This page's address does not match the site's own, so the browser refused. " +
        "Open the site at the address it is configured with (a host name, not an IP address).";
    case "NotSupportedError":
      return "This security key does not support what this site asks for. Try another one.";
    case "AbortError":
      return "The request was cancelled.";
    default:
      return `The browser refused the request: ${error && error.message ? error.message : error}`;
  }
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
    say(explain(error, button.dataset.webauthn === "create"));
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
