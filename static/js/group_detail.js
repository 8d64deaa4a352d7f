// Group detail: small conveniences on top of pages that work without JavaScript.
// - The two texts scroll together.
// - Left / right arrow keys turn the preview pages (they click the page links, which HTMX or a
//   plain navigation then follow).
// No inline script, no eval: the Content-Security-Policy stays strict.
(function () {
  "use strict";
  var syncing = false;

  document.addEventListener("scroll", function (event) {
    var source = event.target;
    if (syncing || !(source instanceof Element) || !source.hasAttribute("data-sync-scroll")) { return; }
    var range = source.scrollHeight - source.clientHeight;
    var ratio = range > 0 ? source.scrollTop / range : 0;
    syncing = true;
    document.querySelectorAll("[data-sync-scroll]").forEach(function (other) {
      if (other !== source) { other.scrollTop = ratio * (other.scrollHeight - other.clientHeight); }
    });
    window.requestAnimationFrame(function () { syncing = false; });
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var target = event.target;
    if (target instanceof Element && target.closest("input, select, textarea, [contenteditable]")) { return; }
    var step = event.key === "ArrowLeft" ? "prev" : event.key === "ArrowRight" ? "next" : null;
    if (!step) { return; }
    var link = document.querySelector("#detail-preview [data-preview-step='" + step + "']");
    if (link) { event.preventDefault(); link.click(); }
  });
})();
