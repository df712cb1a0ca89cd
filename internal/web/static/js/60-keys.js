// The secret of a new API key: a Copy button (without the script, the key
// is selected text in a read-only field, which the person copies as usual).
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = button.closest(".field").querySelector(".copy-status");
    if (!input || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        status.textContent = "Copied to the clipboard.";
      }, function () {
        input.select();
        status.textContent = "Could not copy: the key is selected, press Ctrl+C (or ⌘C) to copy it.";
      });
    });
  });
})();
