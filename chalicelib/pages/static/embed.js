/* Majlis embeddable registration form. On an organiser's page:
     <div data-majlis-event="EVENT_ID" data-lang="en"></div>
     <script src="https://API/assets/embed.js" async></script>
   The form reads GET /events/{id} and posts JSON to /events/{id}/registrations; the API
   allows exactly the event's allowed_origins. No dependencies, no cookies.
   Sessions come by time slot (the event's "slots"): a slot of one session is a checkbox
   (ticked unless it overlaps another session),
   sessions at the same time a radio group with "none of these"; cancelled sessions are
   shown, not offered.
   On an event with a challenge, ALTCHA's widget comes from the same /assets (a module,
   its styles, and its worker's code made into a blob: workers must be of the page's
   own origin), says our catalogs' words and solves from the first focus in the form.
   A site with a Content-Security-Policy allows the API's origin in script-src,
   style-src and connect-src, and blob: in worker-src. */
(function () {
  "use strict";
  var DATA = /*MAJLIS_DATA*/{};
  var script = document.currentScript;
  var api = script ? script.src.replace(/\/assets\/embed\.js.*$/, "") : "";
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) { if (attrs[key] !== null) { node.setAttribute(key, attrs[key]); } }
    if (text) { node.textContent = text; }
    return node;
  }
  var widgetReady = null;
  // ALTCHA's widget, loaded once for every form on the page.
  function loadWidget() {
    if (widgetReady) { return widgetReady; }
    var worker = null;
    widgetReady = new Promise(function (done, fail) {
      document.head.appendChild(el("link", { rel: "stylesheet", href: api + "/assets/altcha.css" }));
      var module = el("script", { type: "module", src: api + "/assets/altcha.js", crossorigin: "anonymous" });
      module.onload = function () {
        window.$altcha.algorithms.set("PBKDF2/SHA-256", function () {
          worker = worker || fetch(api + "/assets/altcha-pbkdf2.js", { credentials: "omit" })
            .then(function (r) { return r.text(); })
            .then(function (code) { return URL.createObjectURL(new Blob([code], { type: "text/javascript" })); });
          return worker.then(function (url) { return new Worker(url); });
        });
        done();
      };
      module.onerror = fail;
      document.head.appendChild(module);
    });
    return widgetReady;
  }
  function field(form, id, label, control, note) {
    var box = el("div", { "class": "majlis-field" });
    box.appendChild(el("label", { "for": id }, label));
    box.appendChild(control);
    box.appendChild(el("p", { id: id + "-error", "class": "majlis-error", hidden: "" }));
    form.appendChild(box);
    return control;
  }
  function build(host, event) {
    var lang = event.languages.indexOf(host.dataset.lang) >= 0 ? host.dataset.lang : event.default_language;
    var t = DATA.messages[lang] || DATA.messages.en;
    var uid = "majlis-" + event.id + "-";
    host.setAttribute("lang", lang);
    host.setAttribute("dir", lang === "ar" || lang === "ur" ? "rtl" : "ltr");
    if (!event.registration_open) { host.appendChild(el("p", { role: "status" }, t.closed)); return; }
    var form = el("form", { novalidate: "" });
    var summary = el("div", { role: "alert", "aria-live": "assertive", tabindex: "-1", "class": "majlis-summary" });
    form.appendChild(summary);
    field(form, uid + "email", t.email, el("input", { id: uid + "email", name: "email", type: "email", autocomplete: "email", dir: "ltr", "aria-describedby": uid + "email-error" }));
    field(form, uid + "first_name", t.first_name, el("input", { id: uid + "first_name", name: "first_name", type: "text", autocomplete: "given-name", dir: "auto", "aria-describedby": uid + "first_name-error" }));
    field(form, uid + "last_name", t.last_name + " (" + t.optional + ")", el("input", { id: uid + "last_name", name: "last_name", type: "text", autocomplete: "family-name", dir: "auto", "aria-describedby": uid + "last_name-error" }));
    var country = el("select", { id: uid + "country", name: "country", autocomplete: "country", "aria-describedby": uid + "country-error" });
    country.appendChild(el("option", { value: "" }, t.choose_country));
    var names = window.Intl && Intl.DisplayNames ? new Intl.DisplayNames([lang], { type: "region" }) : null;
    DATA.countries.map(function (code) { return [code, names ? names.of(code) : code]; })
      .sort(function (a, b) { return a[1].localeCompare(b[1], lang); })
      .forEach(function (pair) { country.appendChild(el("option", { value: pair[0] }, pair[1])); });
    field(form, uid + "country", t.country, country);
    var sessions = el("fieldset", { id: uid + "sessions", "aria-describedby": uid + "sessions-error" });
    sessions.appendChild(el("legend", null, t.sessions));
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var when = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone });
    var hours = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone });
    var byId = {};
    event.sessions.forEach(function (s) { byId[s.id] = s; });
    function title(s) { return s.title[lang] || s.title[event.default_language]; }
    // A session is ticked at first unless it overlaps another one may choose.
    function clashes(s) {
      return event.sessions.some(function (o) {
        return o.id !== s.id && o.status !== "cancelled" && new Date(s.starts_at) < new Date(o.ends_at) && new Date(o.starts_at) < new Date(s.ends_at);
      });
    }
    var slots = event.slots || event.sessions.filter(function (s) { return s.status !== "cancelled"; }).map(function (s) { return [s.id]; });
    var items = slots.map(function (ids, n) { return { at: byId[ids[0]].starts_at, ids: ids, n: n }; });
    event.sessions.forEach(function (s) { if (s.status === "cancelled") { items.push({ at: s.starts_at, cancelled: s }); } });
    items.sort(function (a, b) { return new Date(a.at) - new Date(b.at); });
    function choice(parent, type, id, name, value, text, checked) {
      var row = el("div", { "class": "majlis-choice" });
      var input = el("input", { type: type, id: id, name: name, value: value });
      input.checked = checked;
      row.appendChild(input);
      row.appendChild(el("label", { "for": id }, text));
      parent.appendChild(row);
    }
    items.forEach(function (item) {
      if (item.cancelled) {
        sessions.appendChild(el("p", { "class": "majlis-choice majlis-cancelled" }, title(item.cancelled) + " — " + when.format(new Date(item.cancelled.starts_at)) + " (" + t.cancelled + ")"));
        return;
      }
      if (item.ids.length === 1) {
        var s = byId[item.ids[0]];
        choice(sessions, "checkbox", uid + "s-" + s.id, "sessions", s.id, title(s) + " — " + when.format(new Date(s.starts_at)), !clashes(s));
        return;
      }
      var name = uid + "slot-" + item.n;
      var ends = item.ids.map(function (id) { return new Date(byId[id].ends_at); }).reduce(function (a, b) { return a > b ? a : b; });
      var group = el("fieldset", { id: name, "class": "majlis-slot" });
      group.appendChild(el("legend", null, t.choose_one.replace("%(time)s", when.format(new Date(item.at)) + "–" + hours.format(ends))));
      item.ids.forEach(function (id) {
        var s = byId[id];
        choice(group, "radio", uid + "s-" + s.id, name, s.id, title(s) + " — " + when.format(new Date(s.starts_at)) + "–" + hours.format(new Date(s.ends_at)), false);
      });
      choice(group, "radio", name + "-none", name, "", t.none_of_these, false);
      sessions.appendChild(group);
    });
    form.appendChild(sessions);
    form.appendChild(el("p", { id: uid + "sessions-error", "class": "majlis-error", hidden: "" }));
    [["updates", t.updates, true], ["consent", t.consent, false]].forEach(function (c) {
      var row = el("div", { "class": "majlis-choice" });
      var box = el("input", { type: "checkbox", id: uid + c[0], name: c[0], "aria-describedby": uid + c[0] + "-error" });
      box.checked = c[2];
      row.appendChild(box);
      row.appendChild(el("label", { "for": uid + c[0] }, c[1]));
      form.appendChild(row);
      form.appendChild(el("p", { id: uid + c[0] + "-error", "class": "majlis-error", hidden: "" }));
    });
    var trap = el("input", { name: "website", type: "text", tabindex: "-1", autocomplete: "off", "aria-hidden": "true", style: "position:absolute;left:-10000px" });
    form.appendChild(trap);
    var widget = null;
    if (event.challenge) {
      var check = el("div", { "class": "majlis-field" });
      widget = el("altcha-widget", { name: "altcha", language: lang, challenge: api + "/events/" + encodeURIComponent(event.id) + "/challenge" });
      check.appendChild(widget);
      check.appendChild(el("p", { id: uid + "altcha-error", "class": "majlis-error", hidden: "" }));
      form.appendChild(check);
      loadWidget().then(function () {
        window.$altcha.i18n.set(lang, t.widget);
        widget.configure({ auto: "onfocus", hideFooter: true, humanInteractionSignature: false, language: lang });
      });
    }
    // The widget's solution: solved first when the person was quicker than it.
    function solved() {
      if (!widget) { return Promise.resolve(); }
      if (!widget.getState) { return loadWidget().then(solved); } // still loading
      var state = widget.getState();
      if (state === "verified") { return Promise.resolve(); }
      if (state !== "verifying") { return widget.verify(); }
      return new Promise(function (done) {
        widget.addEventListener("statechange", function wait(e) {
          if (e.detail.state !== "verifying") { widget.removeEventListener("statechange", wait); done(); }
        });
      });
    }
    form.appendChild(el("button", { type: "submit" }, t.register));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      summary.textContent = "";
      Array.prototype.forEach.call(form.querySelectorAll(".majlis-error"), function (p) { p.hidden = true; p.textContent = ""; });
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (n) { n.removeAttribute("aria-invalid"); });
      var body = { email: form.email.value, first_name: form.first_name.value, country: form.country.value,
        language: lang, timezone: zone, consent: form.consent.checked, updates: form.updates.checked,
        sessions: Array.prototype.filter.call(form.querySelectorAll("[name=sessions], input[type=radio]"), function (b) { return b.checked && b.value; }).map(function (b) { return b.value; }) };
      if (form.last_name.value) { body.last_name = form.last_name.value; }
      if (trap.value) { body.website = trap.value; }
      solved().then(function () {
        var solution = form.querySelector("input[name=altcha]");
        if (solution && solution.value) { body.altcha = solution.value; }
        return fetch(api + "/events/" + encodeURIComponent(event.id) + "/registrations", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "omit"
        });
      }).then(function (r) { return r.json().then(function (d) { return [r.status, d]; }); })
        .then(function (result) {
          if (result[0] === 200 || result[0] === 201 || result[0] === 202) {
            host.textContent = "";
            var done = el("div", { role: "status", tabindex: "-1" });
            done.appendChild(el("p", null, { waitlisted: t.waitlisted, pending: t.pending }[result[1].status] || t.registered));
            done.appendChild(el("p", null, t.check_email));
            host.appendChild(done);
            done.focus();
            return;
          }
          (result[1].errors || []).forEach(function (error) {
            var name = error.field.split(".")[0];
            // A solution used, expired or refused: the box is to be ticked again.
            if (name === "altcha" && widget && error.code !== "challenge_required") { widget.reset(); }
            var note = document.getElementById(uid + name + "-error");
            var control = document.getElementById(uid + name);
            if (note) { note.textContent = t.fields[error.code] || t.generic; note.hidden = false; }
            if (control) { control.setAttribute("aria-invalid", "true"); }
          });
          summary.textContent = result[0] === 422 ? t.summary : (result[0] === 503 || result[0] === 429 ? t.busy : (result[1].detail || t.network));
          summary.focus();
        })["catch"](function () { summary.textContent = t.network; summary.focus(); });
    });
    host.appendChild(form);
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-majlis-event]"), function (host) {
    fetch(api + "/events/" + encodeURIComponent(host.dataset.majlisEvent), { credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (event) { build(host, event); });
  });
})();
