/* Majlis embeddable registration form. On an organiser's page:
     <div data-majlis-event="EVENT_ID" data-lang="en"></div>
     <script src="https://API/assets/embed.js" async></script>
   The form reads GET /events/{id} and posts JSON to /events/{id}/registrations; the API
   allows exactly the event's allowed_origins. No dependencies, no cookies. */
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
    event.sessions.forEach(function (s) {
      var row = el("div", { "class": "majlis-choice" });
      var box = el("input", { type: "checkbox", id: uid + "s-" + s.id, name: "sessions", value: s.id, checked: "" });
      row.appendChild(box);
      row.appendChild(el("label", { "for": uid + "s-" + s.id }, (s.title[lang] || s.title[event.default_language]) + " — " + when.format(new Date(s.starts_at))));
      sessions.appendChild(row);
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
    form.appendChild(el("button", { type: "submit" }, t.register));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      summary.textContent = "";
      Array.prototype.forEach.call(form.querySelectorAll(".majlis-error"), function (p) { p.hidden = true; p.textContent = ""; });
      Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (n) { n.removeAttribute("aria-invalid"); });
      var body = { email: form.email.value, first_name: form.first_name.value, country: form.country.value,
        language: lang, timezone: zone, consent: form.consent.checked, updates: form.updates.checked,
        sessions: Array.prototype.filter.call(form.querySelectorAll("[name=sessions]"), function (b) { return b.checked; }).map(function (b) { return b.value; }) };
      if (form.last_name.value) { body.last_name = form.last_name.value; }
      if (trap.value) { body.website = trap.value; }
      fetch(api + "/events/" + encodeURIComponent(event.id) + "/registrations", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "omit"
      }).then(function (r) { return r.json().then(function (d) { return [r.status, d]; }); })
        .then(function (result) {
          if (result[0] === 200 || result[0] === 201) {
            host.textContent = "";
            var done = el("div", { role: "status", tabindex: "-1" });
            done.appendChild(el("p", null, result[1].status === "waitlisted" ? t.waitlisted : t.registered));
            done.appendChild(el("p", null, t.check_email));
            host.appendChild(done);
            done.focus();
            return;
          }
          (result[1].errors || []).forEach(function (error) {
            var name = error.field.split(".")[0];
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
