// Review mode by keyboard: every key clicks the visible button (or link) that carries it in
// data-key / data-key-alt, so mouse, touch, keys and no-JavaScript all do the same thing.
// While a decision is on its way the keys wait (no double decisions); the next group's pages are
// loaded in the background as soon as a group is shown. No inline script, no eval (strict CSP).
(function () {
  "use strict";
  var busy = false;

  function root() { return document.getElementById("review"); }

  function keyName(event) {
    if (event.key === " ") { return "space"; }
    return event.key;
  }

  function find(name) {
    var scope = root();
    if (!scope) { return null; }
    var all = scope.querySelectorAll("[data-key], [data-key-alt]");
    for (var i = 0; i < all.length; i++) {
      var el = all[i];
      if ((el.dataset.key === name || el.dataset.keyAlt === name) && !el.disabled) { return el; }
    }
    return null;
  }

  function showHelp() {
    var dialog = document.getElementById("review-keys-help");
    if (dialog && !dialog.open && typeof dialog.showModal === "function") { dialog.showModal(); }
  }

  function prefetch() {
    document.querySelectorAll("#review-prefetch [data-prefetch]").forEach(function (el) {
      var image = new Image();
      image.decoding = "async";
      image.src = el.dataset.prefetch;
    });
  }

  function colourTags() {
    // A tag pill in the tag's own colour, as Paperless shows it (set through the CSSOM: no
    // inline style attribute, which the CSP refuses).
    document.querySelectorAll(".tag-pill[data-color]").forEach(function (el) {
      var colour = el.dataset.color;
      if (!/^#[0-9a-fA-F]{6}$/.test(colour)) { return; }
      var r = parseInt(colour.slice(1, 3), 16), g = parseInt(colour.slice(3, 5), 16), b = parseInt(colour.slice(5, 7), 16);
      el.style.backgroundColor = colour;
      el.style.color = (r * 299 + g * 587 + b * 114) / 1000 > 140 ? "#000" : "#fff";
    });
  }

  function settled() {
    busy = false;
    var scope = root();
    if (scope) { scope.removeAttribute("aria-busy"); scope.dataset.ready = "1"; }
    prefetch();
    colourTags();
  }

  document.addEventListener("keydown", function (event) {
    if (!root()) { return; }
    var target = event.target;
    if (target instanceof Element && target.closest("input, select, textarea, [contenteditable]")) { return; }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var name = keyName(event);
    if (name === "?") { event.preventDefault(); showHelp(); return; }
    var el = find(name);
    if (!el) { return; }
    event.preventDefault();
    if (busy) { return; }
    if (el.tagName === "BUTTON" && el.type === "submit") {
      busy = true;
      root().setAttribute("aria-busy", "true");
    }
    el.click();
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element && target.closest("#review [data-help]")) { showHelp(); }
  });

  document.addEventListener("htmx:afterSettle", settled);
  document.addEventListener("htmx:responseError", settled);
  document.addEventListener("htmx:sendError", settled);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", settled);
  } else {
    settled();
  }
})();
