// Bulk action confirmations in a <dialog>: the buttons post the selection with htmx into
// #plan-dialog-content; once the confirmation arrives the dialog opens. Without JavaScript the
// same buttons submit the form and the confirmation is its own page. No inline script (CSP).
(function () {
  "use strict";

  function dialogFor(target) {
    return target && target.closest ? target.closest("dialog.plan-dialog") : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    // The dialog is rendered inside the list's form: move it out, so the confirmation's own form
    // is not nested in another form.
    document.querySelectorAll("dialog.plan-dialog").forEach(function (dialog) {
      if (dialog.closest("form")) { document.body.appendChild(dialog); }
    });
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-close-dialog]") : null;
    var dialog = dialogFor(button);
    if (dialog) { dialog.close(); }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = dialogFor(event.detail.target);
    if (dialog && !dialog.open && typeof dialog.showModal === "function") { dialog.showModal(); }
  });

  // A failed create (no selection, no tag) answers with an error status: show it anyway.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (dialogFor(event.detail.target) && event.detail.xhr.status >= 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
