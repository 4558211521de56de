/* Majlis time-zone picker: progressive enhancement of the plain <select id="timezone">.
   - adds a labelled search box above it that narrows the list as one types (city or
     country, in the page's language or in English; accents and vowel marks ignored);
     Enter or the down arrow moves to the list, whose value stays the IANA name;
   - lists the chosen country's zones first: the country select named by
     data-country-from (registration page), else data-country (manage page);
   - says how many zones match, politely, for screen readers.
   Each option carries data-country and data-rank (its place among its country's
   zones); an option outside any group ("the time zone of my country") stays first. */
(function () {
  "use strict";
  var select = document.getElementById("timezone");
  var source = document.getElementById("majlis-zones");
  if (!select || !source || !document.querySelector || !String.prototype.normalize) { return; }
  var data = JSON.parse(source.textContent);
  var text = data.messages;
  var lang = document.documentElement.lang;
  var collator = window.Intl && Intl.Collator ? new Intl.Collator(lang) : null;

  function fold(value) {
    // Letters only: no accents, no Arabic vowel marks, no case.
    return value.normalize("NFD").replace(/[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670]/g, "").toLowerCase();
  }
  function make(tag, attrs, content) {
    var node = document.createElement(tag);
    for (var key in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, key)) { node.setAttribute(key, attrs[key]); } }
    if (content) { node.textContent = content; }
    return node;
  }

  var fixed = [];
  var zones = [];
  var groups = select.getElementsByTagName("optgroup");
  var countryLabel = groups.length > 1 ? groups[0].label : "";
  var options = select.getElementsByTagName("option");
  for (var i = 0; i < options.length; i++) {
    var option = options[i];
    if (option.parentNode === select) { fixed.push(option); continue; }
    zones.push({
      option: option,
      country: option.getAttribute("data-country") || "",
      rank: Number(option.getAttribute("data-rank") || 0),
      key: fold(option.textContent + " " + option.value.replace(/[_\/]/g, " ") + " " + (option.getAttribute("data-search") || ""))
    });
  }
  if (collator) {
    zones.sort(function (a, b) {
      // Options without a country (an older name someone has) stay at the top.
      return (a.country ? 1 : 0) - (b.country ? 1 : 0) || collator.compare(a.option.textContent, b.option.textContent);
    });
  }
  var countrySelect = document.getElementById(select.getAttribute("data-country-from") || "");

  function country() {
    return countrySelect ? countrySelect.value : (select.getAttribute("data-country") || "");
  }
  function nameOf(code) {
    if (countrySelect) {
      var chosen = countrySelect.options[countrySelect.selectedIndex];
      return chosen && chosen.value === code ? chosen.textContent : code;
    }
    return countryLabel || code;
  }

  var box = make("div", { "class": "zone-filter" });
  var label = make("label", { "for": "timezone-filter", "class": "hint" }, text.filter);
  var input = make("input", { type: "search", id: "timezone-filter", dir: "auto", autocomplete: "off", spellcheck: "false", "aria-controls": "timezone", "aria-describedby": "timezone-filter-status" });
  var status = make("p", { id: "timezone-filter-status", "class": "hint zone-status", role: "status", "aria-live": "polite" });
  box.appendChild(label);
  box.appendChild(input);
  select.parentNode.insertBefore(box, select);
  select.parentNode.insertBefore(status, select.nextSibling);

  function show(query) {
    var value = select.value;
    var words = fold(query).split(/\s+/).filter(Boolean);
    var code = country();
    var first = [];
    var rest = [];
    zones.forEach(function (zone) {
      for (var w = 0; w < words.length; w++) { if (zone.key.indexOf(words[w]) < 0) { return; } }
      (code && zone.country === code ? first : rest).push(zone);
    });
    var found = first.length + rest.length;
    if (words.length && !found) {
      words = [];
      zones.forEach(function (zone) { (code && zone.country === code ? first : rest).push(zone); });
    }
    first.sort(function (a, b) { return a.rank - b.rank; });
    while (select.firstChild) { select.removeChild(select.firstChild); }
    if (!words.length) { fixed.forEach(function (option) { select.appendChild(option); }); }
    [[first, nameOf(code)], [rest, text.all]].forEach(function (group) {
      if (!group[0].length) { return; }
      var node = make("optgroup", { label: group[1] });
      group[0].forEach(function (zone) { node.appendChild(zone.option); });
      select.appendChild(node);
    });
    // The chosen zone stays chosen while it is listed; else the first one listed is.
    select.value = value;
    if (select.value !== value) {
      select.selectedIndex = 0;
      select.dispatchEvent(new Event("change"));
    }
    return query.trim() ? (found ? text.matches.replace("%(count)s", String(found)) : text.no_match) : "";
  }

  var pending = null;
  input.addEventListener("input", function () {
    var said = show(input.value);
    // Said once the typing pauses, not at every key.
    window.clearTimeout(pending);
    pending = window.setTimeout(function () { status.textContent = said; }, 500);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === "ArrowDown") {
      event.preventDefault(); // Enter would send the form
      select.focus();
    }
  });
  if (countrySelect) { countrySelect.addEventListener("change", function () { show(input.value); }); }
  show("");
})();
