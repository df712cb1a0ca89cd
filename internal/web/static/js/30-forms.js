// Add New User and Edit User: the Expert's Access till field shows while
// Expert is checked (or a date is set), so the form asks only for what
// applies. The server marks the field shown or not in the page it sends,
// and without this script it is always there. Listening on the document
// also serves the Edit User form that a dialog inserts later.
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox" || !box.id || !box.form) {
      return;
    }
    var reveal = box.form.querySelector('[data-shown-by="' + CSS.escape(box.id) + '"]');
    var input = reveal && reveal.querySelector("input");
    if (input) {
      reveal.classList.toggle("shown", box.checked || input.value !== "");
    }
  });
})();
