// Live job progress: the WebSocket (htmx ws extension) pushes fragments; while it is down, every
// element carrying data-poll-url is refreshed by polling instead. No inline script, no eval, so the
// Content-Security-Policy can stay strict.
(function () {
  "use strict";
  var socketOpen = false;
  var POLL_MS = 3000;

  document.addEventListener("htmx:wsOpen", function () { socketOpen = true; document.body.dataset.socket = "open"; });
  document.addEventListener("htmx:wsClose", function () { socketOpen = false; document.body.dataset.socket = "closed"; });
  document.addEventListener("htmx:wsError", function () { socketOpen = false; document.body.dataset.socket = "closed"; });

  function poll() {
    if (socketOpen || typeof htmx === "undefined") { return; }
    document.querySelectorAll("[data-poll-url]").forEach(function (el) {
      htmx.ajax("GET", el.dataset.pollUrl, { target: el, swap: "outerHTML" });
    });
  }
  window.setInterval(poll, POLL_MS);
})();
