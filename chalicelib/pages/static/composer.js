/* The announcement composer: a tab per language (arrow keys move between them), and
   placeholders inserted where the cursor is. Without it, every language's fields show
   one after the other and the placeholders are a list to copy from. Also the pages that
   refresh themselves (campaigns.html, export.html), gently. */
(function () {
  "use strict";

  function tabs() {
    var list = document.getElementById("language-tabs");
    if (!list) return;
    var buttons = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    var panels = buttons.map(function (b) { return document.getElementById(b.getAttribute("aria-controls")); });
    function show(index, focus) {
      buttons.forEach(function (button, i) {
        var on = i === index;
        button.setAttribute("aria-selected", on ? "true" : "false");
        button.tabIndex = on ? 0 : -1;
        panels[i].hidden = !on;
      });
      if (focus) buttons[index].focus();
    }
    // The first tab with an error shows first, else the first.
    var first = panels.findIndex(function (p) { return p.querySelector('[aria-invalid="true"]'); });
    list.hidden = false;
    show(first < 0 ? 0 : first, false);
    buttons.forEach(function (button, i) {
      button.addEventListener("click", function () { show(i, false); });
      button.addEventListener("keydown", function (event) {
        var rtl = document.documentElement.dir === "rtl";
        var next = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1 }[event.key];
        if (event.key === "Home") { show(0, true); event.preventDefault(); }
        else if (event.key === "End") { show(buttons.length - 1, true); event.preventDefault(); }
        else if (next) {
          show((i + next + buttons.length) % buttons.length, true);
          event.preventDefault();
        }
      });
    });
  }

  function placeholders() {
    // Where the cursor is: the field last typed in, clicked or moved about in (else the
    // last one focused). Passing through a field with Tab or Shift+Tab on the way to the
    // buttons does not count, or a keyboard could only ever reach the nearest field.
    var last = null, focused = null;
    var PASSING = ["Tab", "Shift", "Control", "Alt", "Meta"];
    function isField(target) {
      return target && target.matches && target.matches('#composer textarea, #composer input[name^="subject."]');
    }
    document.addEventListener("focusin", function (event) { if (isField(event.target)) focused = event.target; });
    ["input", "mouseup"].forEach(function (type) {
      document.addEventListener(type, function (event) { if (isField(event.target)) last = event.target; });
    });
    document.addEventListener("keyup", function (event) {
      if (isField(event.target) && PASSING.indexOf(event.key) < 0) last = event.target;
    });
    Array.prototype.forEach.call(document.querySelectorAll("button.insert[data-insert]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = last || focused;
        if (!field || field.closest(".language-panel").hidden) {
          var shown = document.querySelector(".language-panel:not([hidden]) textarea");
          field = shown || field;
        }
        if (!field) return;
        var text = button.getAttribute("data-insert");
        var start = field.selectionStart == null ? field.value.length : field.selectionStart;
        var end = field.selectionEnd == null ? start : field.selectionEnd;
        field.value = field.value.slice(0, start) + text + field.value.slice(end);
        field.focus();
        field.setSelectionRange(start + text.length, start + text.length);
        last = field;
      });
    });
  }

  // A page that refreshes itself (the announcements while one is sending, an export
  // being written: <script data-refresh="seconds">) is reloaded, but not while the
  // organiser is at one of its controls, which a reload would take them away from, nor
  // while it is hidden. Without JavaScript, a <noscript> meta refresh reloads it.
  function refreshing() {
    var marked = document.querySelector("script[data-refresh]");
    var seconds = marked ? parseInt(marked.getAttribute("data-refresh"), 10) : 0;
    if (!(seconds > 0)) return;
    function tick() {
      var at = document.activeElement;
      if (document.hidden || (at && at !== document.body && at !== document.documentElement)) {
        setTimeout(tick, 1000);
      } else {
        window.location.reload();
      }
    }
    setTimeout(tick, seconds * 1000);
  }

  // What "Preview", "Count recipients" or "Send a test to me" answered is below the
  // whole form: the focus goes there (its heading), so that it is seen and read out.
  function results() {
    var answer = document.querySelector("#composer-results > *");
    if (!answer || document.querySelector('#composer [aria-invalid="true"]')) return;
    var target = answer.querySelector("h2") || answer;
    target.setAttribute("tabindex", "-1");
    target.focus();
  }

  // The audience's count as it is built: the dry run, asked again a moment after each
  // change, said in a polite live region.
  function liveCount() {
    var out = document.getElementById("live-count");
    var form = document.getElementById("composer");
    if (!out || !form || !window.fetch || !window.URLSearchParams) return;
    var timer = null;
    var asked = 0;
    function ask() {
      var mine = ++asked;
      var body = new URLSearchParams(new FormData(form));
      body.delete("action");
      fetch(out.getAttribute("data-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: body.toString()
      }).then(function (answer) {
        return answer.json();
      }).then(function (counted) {
        if (mine === asked && counted && counted.text) out.textContent = counted.text;
      }).catch(function () { /* the button still counts */ });
    }
    function changed(event) {
      var name = event.target && event.target.name;
      if (["status", "languages", "sessions", "countries"].indexOf(name) < 0) return;
      clearTimeout(timer);
      timer = setTimeout(ask, 500);
    }
    form.addEventListener("change", changed);
    form.addEventListener("input", changed);
    ask();
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveCount();
    tabs();
    placeholders();
    results();
    refreshing();
  });
})();
