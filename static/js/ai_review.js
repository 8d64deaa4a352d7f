// AI review by keyboard, like the tools people cull with: j/k move between documents, the arrows
// (or n/p) between a document's suggestions, a / r accept / reject (and go on to the next open
// suggestion), e edits, u undoes, A / R decide the whole document, ? lists the keys. Every key
// clicks a visible button, so the page works the same with the mouse and without JavaScript.
// No inline script, no eval: the Content-Security-Policy stays strict.
(function () {
  "use strict";
  var card = null;
  var row = null;
  var advance = false;

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("[data-card]")); }
  function rowsOf(c) { return c ? Array.prototype.slice.call(c.querySelectorAll("[data-field-row]")) : []; }
  function isOpen(r) { return r && r.dataset.decision === "pending" && r.querySelector("form"); }

  function mark() {
    document.querySelectorAll("[data-card].current, [data-field-row].current").forEach(function (el) {
      el.classList.remove("current");
    });
    if (card) { card.classList.add("current"); }
    if (row) { row.classList.add("current"); }
  }

  function select(c, r) {
    card = c;
    row = r || null;
    mark();
    var target = row || card;
    if (target) {
      if (card) { card.focus({ preventScroll: true }); }
      target.scrollIntoView({ block: "nearest" });
    }
  }

  function firstOpen(c) {
    var rows = rowsOf(c);
    return rows.filter(isOpen)[0] || rows[0] || null;
  }

  function moveCard(step) {
    var all = cards();
    if (!all.length) { return; }
    var index = all.indexOf(card);
    var next = all[Math.min(all.length - 1, Math.max(0, index + step))] || all[0];
    if (index === -1) { next = all[0]; }
    select(next, firstOpen(next));
  }

  function moveRow(step) {
    var rows = rowsOf(card);
    if (!rows.length) { moveCard(step); return; }
    var index = rows.indexOf(row);
    var next = rows[index + step];
    if (!next) { moveCard(step); return; }
    select(card, next);
  }

  function nextOpenAfter(c, r) {
    var rows = rowsOf(c);
    var index = rows.indexOf(r);
    var later = rows.slice(index + 1).filter(isOpen)[0] || rows.filter(isOpen)[0];
    if (later) { select(c, later); return; }
    var all = cards();
    for (var i = all.indexOf(c) + 1; i < all.length; i++) {
      var open = rowsOf(all[i]).filter(isOpen)[0];
      if (open) { select(all[i], open); return; }
    }
    select(c, r);
  }

  function press(scope, action) {
    var button = scope && scope.querySelector("[data-action='" + action + "']");
    if (button) { button.click(); return true; }
    return false;
  }

  function edit() {
    if (!row) { return; }
    var details = row.querySelector("details.ai-edit");
    if (!details) { return; }
    details.open = true;
    var input = details.querySelector("input[name=value], select[name=value]");
    if (input) { input.focus(); if (input.select) { input.select(); } }
  }

  function showHelp() {
    var dialog = document.getElementById("ai-keys");
    if (dialog && !dialog.open && typeof dialog.showModal === "function") { dialog.showModal(); }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target instanceof Element && target.closest("input, select, textarea, [contenteditable]");
    if (typing) {
      var editing = target.closest("details.ai-edit");
      if (editing && event.key === "Enter") {
        event.preventDefault();
        advance = true;
        press(editing, "accept-edit");
      } else if (event.key === "Escape") {
        target.blur();
        if (editing) { editing.open = false; }
      }
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var handled = true;
    switch (event.key) {
      case "j": moveCard(1); break;
      case "k": moveCard(-1); break;
      case "ArrowDown": case "n": moveRow(1); break;
      case "ArrowUp": case "p": moveRow(-1); break;
      case "a": advance = true; handled = press(row, "accept"); break;
      case "r": advance = true; handled = press(row, "reject"); break;
      case "u": handled = press(row, "reset"); break;
      case "e": edit(); break;
      case "A": handled = press(card, "accept-card"); break;
      case "R": handled = press(card, "reject-card"); break;
      case "?": showHelp(); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    if (target.closest("[data-action='help']")) { showHelp(); return; }
    var r = target.closest("[data-field-row]");
    var c = target.closest("[data-card]");
    if (c) { card = c; row = r || row; mark(); }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var swapped = event.detail.elt;
    if (!(swapped instanceof Element)) { return; }
    if (swapped.id === "review" || swapped.querySelector && swapped.querySelector("[data-card]") && !swapped.matches("[data-card]")) {
      var first = cards()[0];
      select(first || null, first ? firstOpen(first) : null);
      return;
    }
    // htmx swapped a row or a card (outerHTML): find the new element by the same id.
    var rowId = row && row.id;
    var cardId = card && card.id;
    card = cardId ? document.getElementById(cardId) : null;
    row = rowId ? document.getElementById(rowId) : null;
    if (card && row && advance && row.dataset.decision !== "pending") {
      advance = false;
      nextOpenAfter(card, row);
      return;
    }
    advance = false;
    if (card && !row) { row = firstOpen(card); }
    mark();
  });

  // htmx settles a swapped element 20 ms after the swap by restoring the class the server sent,
  // which drops a "current" mark a quick key press set in between: mark again once settled.
  document.addEventListener("htmx:afterSettle", function () {
    if (card && !card.isConnected) { card = card.id ? document.getElementById(card.id) : null; }
    if (row && !row.isConnected) { row = row.id ? document.getElementById(row.id) : null; }
    mark();
  });

  function start() {
    var first = cards()[0];
    if (first) {
      card = first;
      row = firstOpen(first);
      mark();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
