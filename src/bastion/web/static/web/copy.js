// Copy-to-clipboard for buttons with data-copy-target="<id of an input>".
// A static file, never inline: the Content-Security-Policy forbids inline scripts.
"use strict";
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy-target]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyTarget);
  const status = document.getElementById("copy-status");
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    button.textContent = "Copied";
    if (status) status.textContent = "Copied to the clipboard.";
  } catch (error) {
    if (status) status.textContent = "Could not copy; the token is selected, press Ctrl+C.";
  }
});
