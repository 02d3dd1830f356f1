/* servermon: charts drawn with uPlot (served by the portal from portal/static/vendor).
   The server page's history (latency, status, availability, certificate) and resources
   (cpu, memory, disk, load, network), the dashboard
   tiles' sparklines and 24 h uptime gauges, and the PromQL page's result chart. Data comes
   from the portal's own /api/charts/* and /api/promql, never from Prometheus directly.
   Text from the server goes into the page as text, never as HTML. */
(function () {
  "use strict";

  if (typeof uPlot === "undefined") { return; }

  var REFRESH_MS = 60000;
  var AFTER_CHANGE_MS = 5000;
  var MIN_WIDTH = 60;  /* px; a sparkline in a narrow tile */
  var zone = document.body.getAttribute("data-timezone") || undefined;
  var COLOURS = ["#0d6efd", "#198754", "#d63384", "#fd7e14", "#6f42c1", "#20c997", "#6c757d"];

  function each(selector, callback, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), callback);
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            var error = new Error(body.error || ("The portal answered " + response.status));
            error.status = response.status;
            throw error;
          }
          return body;
        });
      });
  }

  function visible() { return document.visibilityState !== "hidden"; }

  /* Every 60 s while the tab is visible, and at once when it becomes visible again. */
  function every(callback) {
    setInterval(function () { if (visible()) { callback(); } }, REFRESH_MS);
    document.addEventListener("visibilitychange", function () { if (visible()) { callback(); } });
  }

  /* live/core.js announces every status change from the WebSocket (servermon:status);
     charts follow a few seconds later (once Prometheus has scraped the new result). Changes
     that arrive meanwhile join the pending reload, so a storm of them costs one reload per
     few seconds, not one each, and never postpones it indefinitely. */
  function soonAfterChanges(callback, serverId) {
    var timer = null;
    document.addEventListener("servermon:status", function (event) {
      if (serverId && String(event.detail.server_id) !== String(serverId)) { return; }
      if (timer) { return; }
      timer = setTimeout(function () { timer = null; callback(); }, AFTER_CHANGE_MS);
    });
  }

  function tzDate(seconds) {
    var date = new Date(seconds * 1000);
    if (!zone) { return date; }
    try { return uPlot.tzDate(date, zone); } catch (error) { return date; }
  }

  /* --- times, as the pages write them ------------------------------------------------
     24-hour, ISO-like dates, in the portal's zone, labelled by the zone's abbreviation
     ("EAT") as the server writes it: the page hands the abbreviation of each UTC offset
     (data-zone-abbrs, portal.web.formatting.zone_abbreviations), since the browser's own
     would be "GMT+3". A zone with none is labelled by its offset, "UTC+04". */
  var PARTS = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
                minute: "2-digit", second: "2-digit", hourCycle: "h23" };
  var partsFormat = null;
  var offsetFormat = null;
  try {
    partsFormat = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, PARTS));
    offsetFormat = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "longOffset" });
  } catch (error) {
    partsFormat = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: "UTC" }, PARTS));
  }

  function zoneAbbreviations(holder) {
    var source = (holder && holder.closest("[data-zone-abbrs]")) ||
      document.querySelector("body[data-zone-abbrs]");
    if (!source) { return {}; }
    try { return JSON.parse(source.getAttribute("data-zone-abbrs")); } catch (error) { return {}; }
  }

  function timeParts(seconds) {
    var parts = {};
    partsFormat.formatToParts(new Date(seconds * 1000)).forEach(function (part) { parts[part.type] = part.value; });
    if (parts.hour === "24") { parts.hour = "00"; }
    return parts;
  }

  /* The zone's UTC offset in minutes at a moment ("GMT+03:00" from Intl). */
  function offsetMinutes(seconds) {
    if (!offsetFormat) { return 0; }
    var name = "";
    offsetFormat.formatToParts(new Date(seconds * 1000)).forEach(function (part) {
      if (part.type === "timeZoneName") { name = part.value; }
    });
    var match = /([+-])(\d{1,2})(?::(\d{2}))?/.exec(name);
    if (!match) { return 0; }
    var minutes = Number(match[2]) * 60 + Number(match[3] || 0);
    return match[1] === "-" ? -minutes : minutes;
  }

  function zoneLabel(seconds, abbrs) {
    var minutes = offsetMinutes(seconds);
    if (abbrs[String(minutes)]) { return abbrs[String(minutes)]; }
    if (!minutes) { return "UTC"; }
    var size = Math.abs(minutes);
    var hours = String(Math.floor(size / 60)).padStart(2, "0");
    return "UTC" + (minutes < 0 ? "-" : "+") + hours + (size % 60 ? ":" + String(size % 60).padStart(2, "0") : "");
  }

  /* "2026-01-31 14:05:09 EAT" */
  function fullTime(seconds, abbrs) {
    var p = timeParts(seconds);
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second +
      " " + zoneLabel(seconds, abbrs);
  }

  function localDay(seconds) {
    var p = timeParts(seconds);
    return p.year + "-" + p.month + "-" + p.day;
  }

  /* The time axis's ticks: "14:00" (with the date under the first and each new day's),
     "14:05:30" for ticks under a minute apart, "01-31" for ticks a day or more apart. */
  function axisTimes(u, splits, axisIndex, space, increment) {
    var previousDay = null;
    return splits.map(function (seconds) {
      var p = timeParts(seconds);
      var day = p.year + "-" + p.month + "-" + p.day;
      if (increment >= 86400) { return p.month + "-" + p.day; }
      var text = p.hour + ":" + p.minute + (increment < 60 ? ":" + p.second : "");
      if (day !== previousDay) { text += "\n" + p.month + "-" + p.day; }
      previousDay = day;
      return text;
    });
  }

  /* One zone label for the whole axis: "Time (EAT)", or "Time (GMT/BST)" across a change. */
  function axisLabel(period, abbrs) {
    var first = zoneLabel(period[0], abbrs);
    var last = zoneLabel(period[1], abbrs);
    return "Time (" + (first === last ? first : first + "/" + last) + ")";
  }

  function seriesName(labels, fallback) {
    if (labels.server) { return labels.server; }
    var keys = Object.keys(labels).filter(function (key) { return key !== "__name__"; });
    if (!keys.length) { return labels.__name__ || fallback; }
    return (labels.__name__ || "") + "{" + keys.map(function (key) {
      return key + "=\"" + labels[key] + "\"";
    }).join(", ") + "}";
  }

  /* Prometheus series ([ts, value] pairs) as uPlot's columns on one shared time axis. */
  function columns(series, scale) {
    var tables = series.map(function (item) {
      return [item.points.map(function (p) { return p[0]; }),
              item.points.map(function (p) { return p[1] === null ? null : p[1] * scale; })];
    });
    return tables.length === 1 ? tables[0] : uPlot.join(tables);
  }

  function showEmpty(holder, text) {
    holder.textContent = "";
    var note = document.createElement("p");
    note.className = "chart-empty text-body-secondary small mb-0";
    note.textContent = text;
    holder.appendChild(note);
  }

  function draw(holder, series, options) {
    if (holder.uplot) { holder.uplot.destroy(); holder.uplot = null; }
    if (!series.length || !series.some(function (item) { return item.points.length; })) {
      showEmpty(holder, options.empty || "No data for this period yet.");
      return;
    }
    holder.textContent = "";
    var abbrs = zoneAbbreviations(holder);
    var span = options.window || [series[0].points.length ? series[0].points[0][0] : 0,
                                  series[0].points.length ? series[0].points[series[0].points.length - 1][0] : 0];
    var time = { label: "Time", value: function (u, seconds) { return seconds === null || seconds === undefined ? "—" : fullTime(seconds, abbrs); } };
    var defs = [time].concat(series.map(function (item, index) {
      var colour = options.colour || COLOURS[index % COLOURS.length];
      return {
        label: options.name ? options.name(item.labels, index) : seriesName(item.labels, "series " + (index + 1)),
        stroke: colour,
        fill: options.fill ? colour + "33" : undefined,
        width: options.width || 1.5,
        paths: options.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        value: options.value,
        /* A lone sample draws no line; show the dots until there are a few. */
        points: { show: item.points.filter(function (p) { return p[1] !== null; }).length < 3 }
      };
    }));
    holder.uplot = new uPlot({
      width: chartWidth(holder),
      height: options.height || 220,
      tzDate: tzDate,
      series: defs,
      legend: { show: options.legend !== false },
      cursor: options.cursor === false ? { show: false } : {},
      /* The period asked for, not just the span of the data: a new server's few samples
         sit at the right-hand end of the week instead of filling the whole chart. */
      scales: { x: options.window ? { time: true, range: function () { return options.window; } } : { time: true },
                y: options.range ? { range: options.range } : {} },
      axes: options.axes === false ? [{ show: false }, { show: false }]
        : [{ values: axisTimes, space: 64, size: 46, label: axisLabel(span, abbrs), labelSize: 18,
             labelFont: "12px system-ui, sans-serif" },
           { size: 56, values: options.ticks }]
    }, columns(series, options.scale || 1), holder);
  }

  function chartWidth(holder) { return Math.max(holder.clientWidth, MIN_WIDTH); }

  function resizeAll() {
    each("[data-chart], [data-promql-chart], [data-sparkline]", function (holder) {
      if (holder.uplot) { holder.uplot.setSize({ width: chartWidth(holder), height: holder.uplot.height }); }
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resizeAll, 150);
  });

  /* --- figures ------------------------------------------------------------------- */

  /* The portal's availability bands (portal.charts.uptime), as the page gives them. */
  var BANDS = document.body.dataset.uptimeBands.split(" ").map(Number);
  function grade(pct) {
    if (pct >= BANDS[0]) { return "good"; }
    return pct >= BANDS[1] ? "warn" : "bad";
  }
  var TEXT_CLASS = { good: "text-success", warn: "text-warning-emphasis", bad: "text-danger" };

  /* As portal.charts.uptime.format_pct: "100 %", "99.95 %", "83.33 %". */
  function formatPct(pct) {
    if (pct >= 99.9995) { return "100 %"; }
    return pct.toFixed(pct >= 99 ? 3 : 2).replace(/\.?0+$/, "") + " %";
  }

  /* A window's availability; "over 4 min" when the server has been monitored for less
     than the window, so a young server's figure is not read as a day's or a month's. */
  function setAvailability(cell, pct, over) {
    cell.classList.remove("text-success", "text-warning-emphasis", "text-danger");
    cell.textContent = "";
    cell.removeAttribute("title");
    if (pct === null || pct === undefined) {
      cell.textContent = "no data";
      return;
    }
    cell.appendChild(document.createTextNode(formatPct(pct)));
    cell.classList.add(TEXT_CLASS[grade(pct)]);
    if (over) {
      var note = document.createElement("span");
      note.className = "d-block small text-body-secondary";
      note.setAttribute("data-availability-over", "");
      note.textContent = "over " + over;
      cell.appendChild(note);
      cell.title = "Monitored for " + over + " of this window so far";
    }
  }

  function setCertificate(cell, expiry) {
    cell.classList.remove("text-danger", "text-warning-emphasis");
    if (expiry === null || expiry === undefined) {
      cell.textContent = "no certificate seen";
      return;
    }
    var days = (expiry * 1000 - Date.now()) / 86400000;
    var date = localDay(expiry);
    if (days < 0) {
      cell.textContent = "expired " + Math.ceil(-days) + " d ago (" + date + ")";
    } else {
      cell.textContent = "expires in " + Math.floor(days) + " d (" + date + ")";
    }
    if (days < 3) { cell.classList.add("text-danger"); } else if (days < 14) { cell.classList.add("text-warning-emphasis"); }
    cell.title = fullTime(expiry, zoneAbbreviations(cell));
  }

  /* --- the server page ------------------------------------------------------------ */

  function serverPage(section) {
    var id = section.getAttribute("data-charts");
    var error = section.querySelector("[data-chart-error]");
    var latency = section.querySelector("[data-chart='latency']");
    var status = section.querySelector("[data-chart='status']");

    function range() {
      var checked = section.querySelector("input[name='chart-range']:checked");
      return checked ? checked.value : "24h";
    }

    function fail(problem) {
      error.textContent = "Charts are unavailable: " + problem.message;
      error.hidden = false;
    }

    function load() {
      var which = range();
      var query = "?server_id=" + encodeURIComponent(id) + "&range=" + encodeURIComponent(which);
      error.hidden = true;
      section.setAttribute("data-charts-state", "loading");
      var figures = getJSON("/api/charts/availability?server_id=" + encodeURIComponent(id))
        .then(function (body) {
          each("[data-availability]", function (cell) {
            var period = cell.getAttribute("data-availability");
            setAvailability(cell, body.availability_pct[period], (body.over || {})[period]);
          }, section);
          each("[data-field='cert-expiry']", function (cell) { setCertificate(cell, body.cert_expiry); }, section);
        });
      /* A heartbeat's page has no latency chart: a job has no response time. */
      var lines = !latency ? Promise.resolve() : getJSON("/api/charts/latency" + query).then(function (body) {
        draw(latency, body.series, { scale: 1000, window: [body.start, body.end], value: function (u, v) { return v === null ? "—" : v.toFixed(1) + " ms"; } });
      });
      var states = getJSON("/api/charts/status" + query).then(function (body) {
        draw(status, body.series, { stepped: true, fill: true, colour: "#198754", range: [0, 1],
                                    window: [body.start, body.end],
                                    height: 160, value: function (u, v) { return v === null ? "—" : formatPct(v * 100); } });
      });
      /* Settle all three before saying ready or failed, so the state is final. */
      var problems = [];
      Promise.all([figures, lines, states].map(function (request) {
        return request.catch(function (problem) { problems.push(problem); });
      })).then(function () {
        section.setAttribute("data-charts-state", problems.length ? "error" : "ready");
        if (problems.length) { fail(problems[0]); }
      });
    }

    each("input[name='chart-range']", function (input) { input.addEventListener("change", load); }, section);
    load();
    every(load);
    soonAfterChanges(load, id);
  }

  /* --- the server page's resources ------------------------------------------------ */

  function percent(u, v) { return v === null ? "—" : v.toFixed(1) + " %"; }

  function perSecond(u, v) {
    if (v === null) { return "—"; }
    var units = [["GiB/s", 1073741824], ["MiB/s", 1048576], ["KiB/s", 1024]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(v) >= units[i][1]) { return (v / units[i][1]).toFixed(2) + " " + units[i][0]; }
    }
    return v.toFixed(0) + " B/s";
  }

  /* Each chart's look: its series named by the label portal/charts/resources.py gives them. */
  var RESOURCE_CHARTS = {
    cpu: { range: [0, 100], value: percent, name: function () { return "CPU busy"; } },
    memory: { range: [0, 100], value: percent, name: function () { return "Memory used"; } },
    disk: { range: [0, 100], value: percent, name: function (labels) { return labels.mountpoint || "disk"; } },
    load: { value: function (u, v) { return v === null ? "—" : v.toFixed(2); },
            name: function (labels) { return labels.load || "load"; },
            order: function (labels) { return parseInt(labels.load, 10) || 0; } },
    network: { value: perSecond, ticks: function (u, splits) { return splits.map(function (v) { return perSecond(u, v); }); },
               name: function (labels) { return labels.direction || "network"; } }
  };

  function resourcesPage(section) {
    var id = section.getAttribute("data-resource-charts");
    var error = section.querySelector("[data-chart-error]");

    function range() {
      var checked = section.querySelector("input[name='resource-range']:checked");
      return checked ? checked.value : "24h";
    }

    function load() {
      var query = "?server_id=" + encodeURIComponent(id) + "&range=" + encodeURIComponent(range());
      error.hidden = true;
      section.setAttribute("data-charts-state", "loading");
      var problems = [];
      var requests = [];
      each("[data-resource-chart]", function (holder) {
        var name = holder.getAttribute("data-resource-chart");
        var look = RESOURCE_CHARTS[name];
        if (!look) { return; }
        requests.push(getJSON("/api/charts/" + encodeURIComponent(name) + query).then(function (body) {
          var series = look.order ? body.series.slice().sort(function (a, b) {
            return look.order(a.labels) - look.order(b.labels);
          }) : body.series;
          draw(holder, series, Object.assign({ window: [body.start, body.end], height: 180 }, look));
        }).catch(function (problem) { problems.push(problem); }));
      }, section);
      Promise.all(requests).then(function () {
        section.setAttribute("data-charts-state", problems.length ? "error" : "ready");
        if (problems.length) {
          error.textContent = "Resource charts are unavailable: " + problems[0].message;
          error.hidden = false;
        }
      });
    }

    each("input[name='resource-range']", function (input) { input.addEventListener("change", load); }, section);
    load();
    every(load);
  }

  /* --- dashboard tiles ------------------------------------------------------------ */

  /* As portal.charts.uptime.uptime_label says it. */
  function gaugeSays(pct, over) {
    if (pct === null || pct === undefined) { return "Uptime over 24 hours: no data yet"; }
    return "Uptime over " + (over ? over + " (monitored so far)" : "24 hours") + ": " + formatPct(pct);
  }

  function setGauge(gauge, pct, over, overSeconds) {
    var arc = gauge.querySelector("[data-gauge-arc]");
    var label = gauge.querySelector("[data-gauge-label]");
    var title = gauge.querySelector("title");
    var says = gaugeSays(pct, over);
    gauge.classList.remove("gauge-good", "gauge-warn", "gauge-bad", "gauge-none");
    gauge.setAttribute("aria-label", says);
    if (title) { title.textContent = says; }
    if (over) { gauge.setAttribute("data-uptime-over", String(overSeconds)); } else { gauge.removeAttribute("data-uptime-over"); }
    if (pct === null || pct === undefined) {
      gauge.classList.add("gauge-none");
      arc.setAttribute("stroke-dasharray", "0 100");
      label.textContent = "—";
      return;
    }
    gauge.classList.add("gauge-" + grade(pct));
    arc.setAttribute("stroke-dasharray", pct.toFixed(2) + " 100");
    label.textContent = pct >= 99.95 ? "100%" : pct.toFixed(1) + "%";
  }

  /* One cell per minute of the hour: green when every probe succeeded, amber when some
     did, red when none did, grey when there is no data for that minute. */
  function setStrip(strip, points, start, end, step) {
    var slots = Math.floor((end - start) / step) + 1;
    var grades = [];
    for (var i = 0; i < slots; i++) { grades.push("strip-none"); }
    points.forEach(function (point) {
      var slot = Math.round((point[0] - start) / step);
      if (slot < 0 || slot >= slots || point[1] === null) { return; }
      grades[slot] = point[1] >= 1 ? "strip-up" : (point[1] > 0 ? "strip-part" : "strip-down");
    });
    strip.textContent = "";
    grades.forEach(function (grade) {
      var cell = document.createElement("span");
      cell.className = grade;
      strip.appendChild(cell);
    });
    strip.setAttribute("data-down-minutes", String(grades.filter(function (g) { return g === "strip-down"; }).length));
  }

  function dashboard(sparks) {
    var ids = sparks.map(function (holder) { return holder.getAttribute("data-sparkline"); });

    function load() {
      getJSON("/api/charts/fleet?ids=" + ids.join(",")).then(function (body) {
        sparks.forEach(function (holder) {
          var id = holder.getAttribute("data-sparkline");
          var entry = body.servers[id] || { latency_ms: [], uptime_24h: null };
          draw(holder, [{ labels: {}, points: entry.latency_ms }], {
            height: 36, axes: false, legend: false, cursor: false, width: 1.25, window: [body.start, body.end],
            empty: body.error ? "latency unavailable" : "no latency data yet"
          });
          each("[data-uptime-gauge='" + id + "']", function (gauge) {
            setGauge(gauge, entry.uptime_24h, entry.uptime_over, entry.uptime_over_s);
          });
          each("[data-status-strip='" + id + "']", function (strip) {
            setStrip(strip, entry.up || [], body.start, body.end, body.step);
          });
        });
        document.body.setAttribute("data-sparklines", "ready");
      }, function () {
        document.body.setAttribute("data-sparklines", "error");
      });
    }

    load();
    every(load);
    soonAfterChanges(load);
  }

  /* --- the PromQL page -------------------------------------------------------------- */

  function promqlPage(holder) {
    var source = document.getElementById("promql-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    if (data.resultType !== "matrix") { return; }
    draw(holder, data.result.map(function (item) {
      return { labels: item.metric, points: item.values.map(function (p) {
        var value = Number(p[1]);  /* "NaN" and "+Inf" are gaps, not points */
        return [Number(p[0]), isFinite(value) ? value : null];
      }) };
    }), { height: 320, window: [data.start, data.end], empty: "The query returned no series." });
  }

  /* --- start ---------------------------------------------------------------------- */

  each("[data-charts]", serverPage);
  each("[data-resource-charts]", resourcesPage);
  var sparks = Array.prototype.slice.call(document.querySelectorAll("[data-sparkline]"));
  if (sparks.length) { dashboard(sparks); }
  each("[data-promql-chart]", promqlPage);
}());
