// Duplicate groups list: "select this page" and "select all N matching" for the bulk form.
// The page works without it (every checkbox is a plain form field); this only ticks boxes.
// Delegated listeners, so it keeps working after htmx swaps #groups.
(function () {
  "use strict";
  function boxes(form) { return form.querySelectorAll('input[type="checkbox"][name="pk"]'); }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = target.closest && target.closest("#group-bulk");
    if (!form) { return; }
    if (target.hasAttribute("data-select-page")) {
      boxes(form).forEach(function (box) { box.checked = target.checked; });
      if (!target.checked) {
        var all = form.querySelector("[data-select-all]");
        if (all) { all.checked = false; }
      }
    } else if (target.hasAttribute("data-select-all")) {
      if (target.checked) { boxes(form).forEach(function (box) { box.checked = true; }); }
      var page = form.querySelector("[data-select-page]");
      if (page) { page.checked = target.checked; }
    } else if (target.name === "pk" && !target.checked) {
      form.querySelectorAll("[data-select-all], [data-select-page]").forEach(function (box) { box.checked = false; });
    }
  });
})();
