// Copy-to-clipboard for buttons with data-copy-target="<id>": the id of an input (its value is
// copied) or of any element, such as <code> (its text is copied).
// A static file, never inline: the Content-Security-Policy forbids inline scripts.
// Copy buttons marked `hidden` are shown only here, so without JavaScript nobody sees a button
// that does nothing; the text itself is always there to select.
"use strict";

function selectContents(field) {
  if ("select" in field) {
    field.select();
    return field.value;
  }
  const range = document.createRange();
  range.selectNodeContents(field);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return field.textContent.trim();
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy-target]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyTarget);
  const status = document.getElementById(button.dataset.copyStatus || "copy-status");
  const text = selectContents(field);
  try {
    await navigator.clipboard.writeText(text);
    button.classList.add("copied");
    if (status) status.textContent = "Copied to the clipboard.";
  } catch (error) {
    if (status) status.textContent = "Could not copy; the text is selected, press Ctrl+C.";
  }
});

for (const button of document.querySelectorAll("button[data-copy-target][hidden]")) {
  button.hidden = false;
}
