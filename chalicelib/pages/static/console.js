/* Majlis console: the overview's charts (Chart.js, loaded before this file) and its
   figures, refreshed from the page's JSON (#overview[data-url]) every data-refresh
   seconds while the page is visible. The page's tables carry every figure without
   JavaScript; here their bodies are rebuilt from the same document, with textContent. */
(function () {
  "use strict";

  // Bar colours, each at least 3:1 against the white page (WCAG 1.4.11).
  var PALETTE = ["#1c5fd0", "#b45309", "#0f766e", "#7e22ce", "#be123c", "#4d7c0f"];
  var CAPACITY = "#7b8794";
  var INK = "#1f2933";
  var GRID = "#d9e2ec";
  var LABEL_LENGTH = 28; // longer category labels are shortened on the axis (not in tooltips)
  // A horizontal chart's box grows to this much a category (and its legend and axis), so
  // that Chart.js has room for every category's label: where they are closer than their
  // height, autoSkip leaves every other bar unnamed.
  var ROW_REM = 2;
  var FRAME_REM = 5;

  function ready(run) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", run);
    } else {
      run();
    }
  }

  // -- the document's parts -----------------------------------------------------------

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  function rooms(doc) {
    var found = [];
    list(doc.sessions).forEach(function (session) {
      list(session.rooms).forEach(function (room) {
        found.push({ session: session, room: room });
      });
    });
    return found;
  }

  function parts(doc) {
    var overTime = doc.over_time || {};
    var emails = doc.emails || {};
    var zoom = doc.zoom || {};
    return {
      capacity: doc.capacity,
      "over_time.hours": list(overTime.hours),
      "over_time.days": list(overTime.days),
      countries: list(doc.countries),
      languages: list(doc.languages),
      sessions: list(doc.sessions),
      rooms: rooms(doc),
      "emails.rows": list(emails.rows),
      "emails.rates": list(emails.rates),
      "zoom.sessions": list(zoom.sessions),
      "zoom.full": list(zoom.full),
      "zoom.problems": list(zoom.problems),
      attendance: list(doc.attendance)
    };
  }

  function present(value) {
    return Array.isArray(value) ? value.length > 0 : Boolean(value);
  }

  // -- numbers --------------------------------------------------------------------------

  // The digits the server wrote its figures in, so that the charts' ticks match the tables.
  function numberFormat(language, sample) {
    var options = {};
    if (/[0-9]/.test(sample)) {
      options.numberingSystem = "latn";
    } else if (/[\u0660-\u0669]/.test(sample)) {
      options.numberingSystem = "arab";
    } else if (/[\u06f0-\u06f9]/.test(sample)) {
      options.numberingSystem = "arabext";
    }
    try {
      return new Intl.NumberFormat(language || undefined, options);
    } catch (error) {
      return new Intl.NumberFormat();
    }
  }

  function shown(figure, otherwise) {
    return figure ? String(figure.shown) : otherwise;
  }

  function value(figure) {
    return figure ? figure.value : null;
  }

  // -- tables ---------------------------------------------------------------------------

  function cell(tag, text, className) {
    var element = document.createElement(tag);
    if (tag === "th") {
      element.scope = "row";
    }
    element.textContent = text == null ? "" : String(text);
    if (className) {
      element.className = className;
    }
    return element;
  }

  function empty(element) {
    while (element.firstChild) {
      element.removeChild(element.firstChild);
    }
  }

  function fill(table, items, cells) {
    var body = table.tBodies[0] || table.appendChild(document.createElement("tbody"));
    var rows = document.createDocumentFragment();
    items.forEach(function (item) {
      var row = document.createElement("tr");
      cells(item).forEach(function (element) {
        row.appendChild(element);
      });
      rows.appendChild(row);
    });
    empty(body);
    body.appendChild(rows);
  }

  function labelled(item) {
    return [cell("th", item.label), cell("td", item.shown, "num")];
  }

  function shared(item) {
    return [cell("th", item.label), cell("td", item.shown, "num"), cell("td", item.share, "num")];
  }

  function tables(labels) {
    return {
      "table-days": { part: "over_time.days", cells: labelled },
      "table-hours": { part: "over_time.hours", cells: labelled },
      "table-countries": { part: "countries", cells: shared },
      "table-languages": { part: "languages", cells: shared },
      "table-sessions": {
        part: "sessions",
        cells: function (session) {
          var head = cell("th", session.label);
          var when = document.createElement("span");
          when.className = "when";
          when.textContent = session.when || "";
          head.appendChild(when);
          return [
            head,
            cell("td", session.shown, "num"),
            cell("td", shown(session.capacity, labels.noLimit), "num")
          ];
        }
      },
      "table-rooms": {
        part: "rooms",
        cells: function (pair) {
          var status = cell("td", "");
          if (pair.room.full) {
            status.appendChild(cell("span", labels.full, "badge"));
          }
          return [
            cell("td", pair.session.label),
            cell("th", pair.room.label),
            cell("td", pair.room.shown, "num"),
            cell("td", shown(pair.room.capacity, labels.noLimit), "num"),
            status
          ];
        }
      },
      "table-emails": { part: "emails.rows", cells: labelled },
      "table-email-rates": {
        part: "emails.rates",
        cells: function (rate) {
          var status = cell("td", "");
          var level = ["ok", "warning", "over"].indexOf(rate.level) >= 0 ? rate.level : "ok";
          status.appendChild(cell("span", rate.level_label, "level level-" + level));
          return [
            cell("th", rate.label),
            cell("td", rate.shown, "num"),
            cell("td", rate.limit, "num"),
            status
          ];
        }
      },
      "table-attendance": {
        part: "attendance",
        cells: function (item) {
          return [
            cell("th", item.label),
            cell("td", item.shown, "num"),
            cell("td", item.of, "num"),
            cell("td", item.share, "num")
          ];
        }
      }
    };
  }

  // Zoom's table has a column for each state any session is in (in their first order).
  function fillZoom(table, sessions, zero) {
    var states = [];
    var keys = [];
    sessions.forEach(function (session) {
      list(session.states).forEach(function (state) {
        if (keys.indexOf(state.key) < 0) {
          keys.push(state.key);
          states.push(state);
        }
      });
    });
    var head = table.tHead && table.tHead.rows[0];
    if (head) {
      while (head.cells.length > 1) {
        head.removeChild(head.lastChild);
      }
      states.forEach(function (state) {
        var column = cell("th", state.label, "num");
        column.scope = "col";
        head.appendChild(column);
      });
    }
    fill(table, sessions, function (session) {
      var cells = [cell("th", session.label)];
      keys.forEach(function (key) {
        var found = list(session.states).filter(function (state) {
          return state.key === key;
        })[0];
        cells.push(cell("td", found ? found.shown : zero, "num"));
      });
      return cells;
    });
  }

  function fillList(element, items) {
    var entries = document.createDocumentFragment();
    items.forEach(function (text) {
      entries.appendChild(cell("li", text));
    });
    empty(element);
    element.appendChild(entries);
  }

  // -- charts ---------------------------------------------------------------------------

  function short(label) {
    label = String(label);
    return label.length > LABEL_LENGTH ? label.slice(0, LABEL_LENGTH - 1) + "\u2026" : label;
  }

  function options(horizontal, legend, format) {
    var rtl = document.documentElement.dir === "rtl";
    var direction = rtl ? "rtl" : "ltr";
    var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var values = {
      beginAtZero: true,
      // Horizontal bars grow from the right in right-to-left pages.
      reverse: horizontal && rtl,
      grid: { color: GRID },
      ticks: {
        precision: 0,
        callback: function (tick) {
          return format.format(tick);
        }
      }
    };
    var categories = {
      // Time runs from right to left in right-to-left pages: draw() gives vertical
      // charts their data reversed, as reverse: true would leave the axis's first and
      // last labels without the room Chart.js makes for them (they are cut off).
      reverse: false,
      grid: { display: false },
      ticks: {
        autoSkip: true,
        autoSkipPadding: 12,
        // Level labels: rotated text is hard to read, above all in Arabic and Urdu.
        maxRotation: 0,
        callback: function (tick) {
          return short(this.getLabelForValue(tick));
        }
      }
    };
    if (horizontal) {
      categories.position = rtl ? "right" : "left";
    } else {
      values.position = rtl ? "right" : "left";
    }
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduced ? false : { duration: 400 },
      indexAxis: horizontal ? "y" : "x",
      rtl: rtl,
      locale: document.documentElement.lang || undefined,
      scales: horizontal ? { x: values, y: categories } : { x: categories, y: values },
      plugins: {
        legend: {
          display: legend,
          position: "top",
          rtl: rtl,
          textDirection: direction,
          labels: { color: INK }
        },
        tooltip: {
          rtl: rtl,
          textDirection: direction,
          callbacks: {
            label: function (context) {
              var number = horizontal ? context.parsed.x : context.parsed.y;
              if (number == null) {
                return "";
              }
              return context.dataset.label + ": " + format.format(number);
            }
          }
        }
      }
    };
  }

  function dataset(label, data, colour) {
    return {
      label: label,
      data: data,
      backgroundColor: colour,
      borderColor: colour,
      borderWidth: 1,
      maxBarThickness: 32
    };
  }

  function fit(drawn, rows) {
    var box = drawn.canvas && drawn.canvas.parentNode;
    if (!box) {
      return;
    }
    var wanted = rows ? rows * ROW_REM + FRAME_REM + "rem" : "";
    if (box.style.minHeight !== wanted) {
      box.style.minHeight = wanted; // the stylesheet's height stays the least
      drawn.resize();
    }
  }

  function chart(id, horizontal, datasets, format) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof window.Chart !== "function") {
      return null;
    }
    return new window.Chart(canvas, {
      type: "bar",
      data: { labels: [], datasets: datasets },
      options: options(horizontal, datasets.length > 1, format)
    });
  }

  // What each chart shows of the document: its labels and each dataset's data.
  function series(doc, p, mode) {
    return {
      "chart-over-time": {
        labels: p["over_time." + mode].map(function (item) {
          return item.label;
        }),
        data: [p["over_time." + mode].map(value)]
      },
      "chart-countries": {
        labels: p.countries.slice(0, 15).map(function (item) {
          return item.label;
        }),
        data: [p.countries.slice(0, 15).map(value)]
      },
      "chart-languages": {
        labels: p.languages.map(function (item) {
          return item.label;
        }),
        data: [p.languages.map(value)]
      },
      "chart-sessions": {
        labels: p.sessions.map(function (session) {
          return session.label;
        }),
        data: [
          p.sessions.map(value),
          p.sessions.map(function (session) {
            return value(session.capacity);
          })
        ]
      },
      "chart-rooms": {
        labels: p.rooms.map(function (pair) {
          return pair.session.label + " \u00b7 " + pair.room.label;
        }),
        data: [
          p.rooms.map(function (pair) {
            return pair.room.value;
          }),
          p.rooms.map(function (pair) {
            return value(pair.room.capacity);
          })
        ]
      },
      "chart-emails": {
        labels: p["emails.rows"].map(function (item) {
          return item.label;
        }),
        data: [p["emails.rows"].map(value)]
      }
    };
  }

  // -- the page ---------------------------------------------------------------------------

  function Overview(root) {
    this.root = root;
    this.url = root.getAttribute("data-url");
    this.period = Math.max(5, parseInt(root.getAttribute("data-refresh"), 10) || 30) * 1000;
    this.updated = document.getElementById("overview-updated");
    this.toggle = document.getElementById("over-time-toggle");
    this.mode = "hours";
    this.charts = null;
    this.timer = null;
    this.busy = false;
    this.last = 0;
    var data = root.dataset;
    this.labels = {
      stale: data.stale || "",
      registrations: data.labelRegistrations || "",
      registered: data.labelRegistered || "",
      capacity: data.labelCapacity || "",
      seated: data.labelSeated || "",
      emails: data.labelEmails || "",
      byHour: data.labelByHour || "",
      byDay: data.labelByDay || "",
      noLimit: data.labelNoLimit || "",
      full: data.labelFull || ""
    };
    this.tables = tables(this.labels);
  }

  Overview.prototype.start = function () {
    var self = this;
    document.addEventListener("visibilitychange", function () {
      self.visibility();
    });
    this.refresh();
  };

  Overview.prototype.load = function () {
    var init = {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store"
    };
    var abort = null;
    if (typeof AbortController === "function") {
      var controller = new AbortController();
      init.signal = controller.signal;
      abort = setTimeout(function () {
        controller.abort();
      }, 15000);
    }
    return fetch(this.url, init)
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(
        function (doc) {
          clearTimeout(abort);
          if (!doc || typeof doc !== "object" || !Array.isArray(doc.counts)) {
            throw new Error("not an overview");
          }
          return doc;
        },
        function (error) {
          clearTimeout(abort);
          throw error;
        }
      );
  };

  Overview.prototype.refresh = function () {
    var self = this;
    this.timer = null;
    if (this.busy) {
      return;
    }
    this.busy = true;
    this.load()
      .then(function (doc) {
        self.apply(doc);
      })
      .catch(function () {
        self.stale();
      })
      .then(function () {
        self.busy = false;
        self.last = Date.now();
        self.later(self.period);
      });
  };

  Overview.prototype.later = function (delay) {
    clearTimeout(this.timer);
    this.timer = null;
    if (!document.hidden) {
      this.timer = setTimeout(this.refresh.bind(this), delay);
    }
  };

  // No refreshing while the tab is hidden; on its return, at once if one is overdue.
  Overview.prototype.visibility = function () {
    if (document.hidden) {
      clearTimeout(this.timer);
      this.timer = null;
    } else if (!this.busy && this.timer === null) {
      var due = this.last + this.period - Date.now();
      if (due <= 0) {
        this.refresh();
      } else {
        this.later(due);
      }
    }
  };

  Overview.prototype.stale = function () {
    this.updated.textContent = this.labels.stale;
    this.updated.classList.add("stale");
  };

  Overview.prototype.apply = function (doc) {
    var p = parts(doc);
    this.format = this.format || numberFormat(document.documentElement.lang, doc.counts.length ? String(doc.counts[0].shown) : "");
    this.counts(doc);
    this.visible(p);
    var root = this.root;
    var specs = this.tables;
    Object.keys(specs).forEach(function (id) {
      var table = document.getElementById(id);
      if (table && root.contains(table)) {
        fill(table, p[specs[id].part], specs[id].cells);
      }
    });
    var zoom = document.getElementById("table-zoom");
    if (zoom) {
      fillZoom(zoom, p["zoom.sessions"], this.format.format(0));
    }
    var full = document.getElementById("list-zoom-full");
    if (full) {
      fillList(full, p["zoom.full"]);
    }
    var problems = document.getElementById("list-zoom-problems");
    if (problems) {
      fillList(problems, p["zoom.problems"]);
    }
    this.doc = doc;
    this.draw(doc, p);
    if (typeof doc.updated === "string") {
      if (this.updated.textContent !== doc.updated) {
        this.updated.textContent = doc.updated;
      }
      this.updated.classList.remove("stale");
    }
  };

  Overview.prototype.counts = function (doc) {
    var byKey = {};
    doc.counts.forEach(function (item) {
      byKey[item.key] = item;
    });
    if (doc.capacity) {
      byKey.capacity = doc.capacity;
    }
    Array.prototype.forEach.call(this.root.querySelectorAll("[data-count]"), function (element) {
      var item = byKey[element.getAttribute("data-count")];
      element.textContent = item ? String(item.shown) : "";
    });
  };

  Overview.prototype.visible = function (p) {
    Array.prototype.forEach.call(this.root.querySelectorAll("[data-when]"), function (element) {
      element.hidden = !present(p[element.getAttribute("data-when")]);
    });
    Array.prototype.forEach.call(this.root.querySelectorAll("[data-unless]"), function (element) {
      element.hidden = present(p[element.getAttribute("data-unless")]);
    });
  };

  Overview.prototype.create = function () {
    this.root.classList.add("charted"); // the charts' boxes show, so Chart.js can size them
    var l = this.labels;
    var f = this.format;
    this.charts = {
      "chart-over-time": chart("chart-over-time", false, [dataset(l.registrations, [], PALETTE[0])], f),
      "chart-countries": chart("chart-countries", true, [dataset(l.registrations, [], PALETTE[0])], f),
      "chart-languages": chart("chart-languages", true, [dataset(l.registrations, [], PALETTE[2])], f),
      "chart-sessions": chart(
        "chart-sessions",
        true,
        [dataset(l.registered, [], PALETTE[0]), dataset(l.capacity, [], CAPACITY)],
        f
      ),
      "chart-rooms": chart(
        "chart-rooms",
        true,
        [dataset(l.seated, [], PALETTE[1]), dataset(l.capacity, [], CAPACITY)],
        f
      ),
      "chart-emails": chart("chart-emails", true, [dataset(l.emails, [], PALETTE[3])], f)
    };
    this.offerToggle();
  };

  Overview.prototype.draw = function (doc, p) {
    if (typeof window.Chart !== "function") {
      return; // Chart.js did not load: the tables say it all
    }
    if (!this.charts) {
      window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
      window.Chart.defaults.font.size = 14;
      window.Chart.defaults.color = INK;
      this.create();
    }
    var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var rtl = document.documentElement.dir === "rtl";
    var wanted = series(doc, p, this.mode);
    var charts = this.charts;
    Object.keys(charts).forEach(function (id) {
      var drawn = charts[id];
      if (!drawn) {
        return;
      }
      var backwards = rtl && drawn.options.indexAxis === "x";
      drawn.data.labels = backwards ? wanted[id].labels.slice().reverse() : wanted[id].labels;
      wanted[id].data.forEach(function (data, index) {
        if (drawn.data.datasets[index]) {
          drawn.data.datasets[index].data = backwards ? data.slice().reverse() : data;
        }
      });
      if (drawn.options.indexAxis === "y") {
        fit(drawn, drawn.data.labels.length);
      }
      drawn.update(reduced ? "none" : undefined);
    });
  };

  // By hour or by day: two buttons, pressed or not, offered once the chart is drawn.
  Overview.prototype.offerToggle = function () {
    var self = this;
    if (!this.toggle || !this.charts["chart-over-time"]) {
      return;
    }
    var buttons = this.toggle.querySelectorAll("button[data-show]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        self.show(button.getAttribute("data-show"));
      });
    });
    this.toggle.hidden = false;
  };

  Overview.prototype.show = function (mode) {
    this.mode = mode === "days" ? "days" : "hours";
    Array.prototype.forEach.call(this.toggle.querySelectorAll("button[data-show]"), function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-show") === mode));
    });
    var canvas = document.getElementById("chart-over-time");
    canvas.setAttribute("aria-label", this.mode === "days" ? this.labels.byDay : this.labels.byHour);
    if (this.doc) {
      this.draw(this.doc, parts(this.doc));
    }
  };

  ready(function () {
    var root = document.querySelector("#overview[data-url]");
    if (root && typeof window.fetch === "function") {
      new Overview(root).start();
    }
  });
})();
