/* Majlis registration page: progressive enhancement of a form that works without it.
   - shows each session's time in the visitor's own time zone and preselects that zone
     (zones.js adds the search box to the zone list);
   - posts JSON to the API and shows the problem document's field errors inline;
   - on an event with a challenge, runs ALTCHA's widget (altcha.js, a module that runs
     before this script): our catalogs' words, its worker from /assets, no tracking,
     solving from the first focus in the form, and solved before the form is sent. */
(function () {
  "use strict";
  var form = document.getElementById("registration");
  if (!form || !window.fetch || !window.Intl) { return; }
  var messages = JSON.parse(document.getElementById("majlis-messages").textContent);
  var lang = document.documentElement.lang;
  var summary = document.getElementById("summary");

  var zone = null;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { zone = null; }
  var zoneSelect = document.getElementById("timezone");
  var countrySelect = document.getElementById("country");
  var zoneData = document.getElementById("majlis-zones");
  var aliases = zoneData ? JSON.parse(zoneData.textContent).aliases : {};
  // Every zone offered (the search box may take some out of the list for a while).
  var labels = {};
  var countryFirst = {};
  var listed = zoneSelect ? zoneSelect.getElementsByTagName("option") : [];
  for (var i = 0; i < listed.length; i++) {
    labels[listed[i].value] = listed[i].textContent;
    if (listed[i].getAttribute("data-rank") === "0") { countryFirst[listed[i].getAttribute("data-country")] = listed[i].value; }
  }
  function offered(name) { return Object.prototype.hasOwnProperty.call(labels, name) && name !== ""; }
  if (zone && !offered(zone) && aliases[zone]) { zone = aliases[zone]; }
  // UTC is what privacy settings report rather than where someone is: keep "my country's".
  if (zone && zoneSelect && !form.dataset.keepZone && !/^(Etc\/|UTC$|GMT$)/.test(zone) && offered(zone)) {
    zoneSelect.value = zone;
  }
  function countryZone() {
    // What the server gives a form sent with "the time zone of my country".
    return (countrySelect && countryFirst[countrySelect.value]) || "";
  }
  function chosenZone() {
    return (zoneSelect && zoneSelect.value) || countryZone();
  }
  function showLocalTimes() {
    var chosen = chosenZone() || zone;
    var spans = document.querySelectorAll(".local-time");
    for (var j = 0; j < spans.length; j++) {
      var start = new Date(spans[j].dataset.start), end = new Date(spans[j].dataset.end);
      try {
        var day = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", month: "short", timeZone: chosen }).format(start);
        var hours = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: chosen });
        spans[j].textContent = messages.your_time.replace("%(time)s", day + " " + hours.format(start) + "–" + hours.format(end));
        spans[j].hidden = false;
      } catch (e) { spans[j].hidden = true; }
    }
  }
  var widget = document.getElementById("altcha");
  if (widget && window.$altcha && widget.configure) {
    var worker = widget.dataset.worker;
    window.$altcha.algorithms.set("PBKDF2/SHA-256", function () { return new Worker(worker); });
    window.$altcha.i18n.set(lang, messages.widget);
    widget.configure({ auto: "onfocus", hideFooter: true, humanInteractionSignature: false, language: lang });
  } else {
    widget = null;
  }
  // The widget's solution: solved first when the person was quicker than it.
  function solved() {
    var state = widget ? widget.getState() : "verified";
    if (state === "verified") { return Promise.resolve(); }
    if (state !== "verifying") { return widget.verify(); }
    return new Promise(function (done) {
      widget.addEventListener("statechange", function wait(e) {
        if (e.detail.state !== "verifying") { widget.removeEventListener("statechange", wait); done(); }
      });
    });
  }

  showLocalTimes();
  if (zoneSelect) { zoneSelect.addEventListener("change", showLocalTimes); }
  if (countrySelect) { countrySelect.addEventListener("change", showLocalTimes); }

  function clearErrors() {
    summary.textContent = "";
    var marked = form.querySelectorAll("[aria-invalid]");
    for (var k = 0; k < marked.length; k++) { marked[k].removeAttribute("aria-invalid"); }
    var notes = form.querySelectorAll(".error");
    for (var m = 0; m < notes.length; m++) { notes[m].textContent = ""; notes[m].hidden = true; }
  }
  function showError(field, text) {
    var note = document.getElementById(field + "-error");
    var control = document.getElementById(field);
    if (!note) { return false; }
    note.textContent = text;
    note.hidden = false;
    if (control) { control.setAttribute("aria-invalid", "true"); }
    return control;
  }
  function body() {
    var data = { sessions: [] };
    var elements = form.elements;
    for (var n = 0; n < elements.length; n++) {
      var el = elements[n];
      if (!el.name || el.type === "submit") { continue; }
      if (el.name === "sessions") { if (el.checked) { data.sessions.push(el.value); } continue; }
      // A time slot's radio group: its session, or "" for none of them.
      if (el.type === "radio") { if (el.checked && el.value) { data.sessions.push(el.value); } continue; }
      if (el.type === "checkbox") { data[el.name] = el.checked; continue; }
      if (el.name === "altcha") { if (el.value) { data.altcha = el.value; } continue; }
      if (el.type === "hidden") { continue; }
      if (el.value !== "" || el.name === "website") { data[el.name] = el.value; }
    }
    if (!data.website) { delete data.website; }
    if (!data.timezone && countryZone()) { data.timezone = countryZone(); }
    return data;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    var button = form.querySelector("button[type=submit]");
    var label = button.textContent;
    var posted = null;
    button.disabled = true;
    button.textContent = messages.sending;
    solved().then(function () {
      posted = body();
      return fetch(form.dataset.api, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(posted)
      });
    }).then(function (response) {
      return response.json().then(function (doc) { return { status: response.status, doc: doc }; });
    }).then(function (result) {
      button.disabled = false;
      button.textContent = label;
      if (result.status === 200 || result.status === 201 || result.status === 202) {
        form.hidden = true;
        var thanks = document.getElementById("thanks");
        var zoneNote = document.getElementById("thanks-zone");
        if (result.status === 201 && posted.timezone && offered(posted.timezone) && zoneNote) {
          // The option's label without its offset: "Karachi — Pakistan".
          var place = labels[posted.timezone].replace(/\s*\([^()]*\)\s*$/, "");
          zoneNote.textContent = messages.thanks_zone.replace("%(zone)s", place);
          zoneNote.hidden = false;
        }
        document.getElementById("thanks-" + ({ waitlisted: "waitlisted", pending: "pending" }[result.doc.status] || "registered")).hidden = false;
        if (result.doc.status === "pending") {
          document.getElementById("thanks-pending-note").hidden = false;
          document.getElementById("thanks-manage").hidden = true; // no links until confirmed
        }
        thanks.hidden = false;
        thanks.focus();
        return;
      }
      if (result.status === 422 && result.doc.errors) {
        var first = null;
        for (var e = 0; e < result.doc.errors.length; e++) {
          var error = result.doc.errors[e];
          var field = error.field.split(".")[0];
          // A solution used, expired or refused: the box is to be ticked again.
          if (field === "altcha" && widget && error.code !== "challenge_required") { widget.reset(); }
          var control = showError(field, messages.fields[error.code] || messages.generic);
          // A group of choices (the sessions) takes focus on its first choice.
          if (control && control.tagName === "FIELDSET") { control = control.querySelector("input") || control; }
          if (!first && control) { first = control; }
        }
        summary.textContent = messages.summary;
        (first || summary).focus();
        return;
      }
      summary.textContent = result.status === 503 || result.status === 429 ? messages.busy : (result.doc.detail || messages.network);
      summary.focus();
    }).catch(function () {
      button.disabled = false;
      button.textContent = label;
      summary.textContent = messages.network;
      summary.focus();
    });
  });
})();
