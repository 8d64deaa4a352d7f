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

  // Every button that starts work is busy until the answer: it is disabled (no second click
  // starts the work twice) and styled busy. With htmx from the request to its answer; a plain
  // form until the next page (the buttons are disabled after the submit event, so the clicked
  // button's own name and value are still sent).
  function submitButtons(el) {
    if (!el || !el.matches) { return []; }
    if (el.matches("button")) { return [el]; }
    if (el.matches("form")) {
      return Array.prototype.slice.call(el.querySelectorAll("button:not([type=button]):not(:disabled)"));
    }
    return [];
  }
  function markBusy(buttons) {
    buttons.forEach(function (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      button.dataset.busy = "1";
    });
  }
  function clearBusy(root) {
    (root || document).querySelectorAll("[data-busy]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
      delete button.dataset.busy;
    });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var verb = (event.detail.requestConfig && event.detail.requestConfig.verb) || "";
    if (verb.toLowerCase() === "get") { return; }
    markBusy(submitButtons(elt));
  });
  document.addEventListener("htmx:afterRequest", function (event) { clearBusy(event.detail.elt); });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) { return; }
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
    if (form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) { return; }
    window.setTimeout(function () { markBusy(submitButtons(form)); }, 0);
  });
  // Back to a page from the browser's cache: its buttons work again.
  window.addEventListener("pageshow", function () { clearBusy(document); });

  // A form answered 422 (invalid input) carries its field errors: show it in place like any
  // answer (htmx leaves 4xx answers out by default, so the person saw nothing happen).
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
