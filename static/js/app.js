// Live job progress: the WebSocket (htmx ws extension) pushes job progress fragments; while it is
// down, every element carrying data-poll-url is refreshed by polling instead. Elements whose whole
// content depends on a running job (a plan's items, its undo button) are not pushed over the
// socket, so they carry data-poll-always and are polled either way until the job ends.
// No inline script, no eval, so the Content-Security-Policy can stay strict.
(function () {
  "use strict";
  var socketOpen = false;
  var POLL_MS = 3000;

  document.addEventListener("htmx:wsOpen", function () { socketOpen = true; document.body.dataset.socket = "open"; });
  document.addEventListener("htmx:wsClose", function () { socketOpen = false; document.body.dataset.socket = "closed"; });
  document.addEventListener("htmx:wsError", function () { socketOpen = false; document.body.dataset.socket = "closed"; });

  function poll() {
    if (typeof htmx === "undefined") { return; }
    var selector = socketOpen ? "[data-poll-url][data-poll-always]" : "[data-poll-url]";
    document.querySelectorAll(selector).forEach(function (el) {
      htmx.ajax("GET", el.dataset.pollUrl, { target: el, swap: "outerHTML" });
    });
  }
  window.setInterval(poll, POLL_MS);

  // A form answered 422 (invalid input) carries its field errors: show it in place like any
  // answer (htmx leaves 4xx answers out by default, so the person saw nothing happen).
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
