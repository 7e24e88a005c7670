// copy.js: the secret page's "Copy secret" button. The button stays
// hidden without JavaScript or a clipboard, so it is never a dead control.
// Loaded from /static/ under the page's CSP (script-src 'self'); nothing
// inline.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    var status = document.getElementById(button.dataset.status);
    if (!source || !navigator.clipboard || !window.isSecureContext) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        if (status) { status.textContent = "Copied to the clipboard."; }
      }, function () {
        if (status) { status.textContent = "Copying failed: select the secret and copy it by hand."; }
      });
    });
  });
});
