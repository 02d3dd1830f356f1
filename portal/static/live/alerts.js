/* servermon live, the Alerts page: it tells the same story as the dashboard, from the same
   events. A server the probes say is down and that has no incident yet is listed as down
   since then, "incident opening" (status events); its incident takes its place when it opens
   (incident events), shows "Recovered at ..., incident closing" once the probes say up,
   and moves to the past incidents when it closes. Rows are cloned from the page's
   <template>s and filled with text. What this page cannot place itself (a narrower filter,
   a later page of past incidents, a failed delivery, some other change) is counted on a
   "N new or changed: show" button that loads the lists again in place.
   The incident an e-mail or SMS linked to is scrolled to and focused. */
(function () {
  "use strict";

  var live = window.servermonLive;
  if (!live) { return; }

  var OUTAGE_ALERT = "ServerDown";   /* portal/incidents/opening.py */
  var time = live.time;
  var statuses = {};   /* server id -> the last status event or snapshot entry */
  var changed = 0;     /* what the "N new or changed" button counts */

  function root() { return document.querySelector("[data-alerts]"); }
  function setting(name) { var box = root(); return box ? box.getAttribute("data-" + name) || "" : ""; }

  var clone = live.dom.clone, fill = live.dom.fill, setTime = live.dom.fillTime;
  var duration = live.time.duration;

  /* --- "N new or changed: show" ----------------------------------------------------------- */

  function countChange() {
    var box = document.querySelector("[data-live-new]");
    if (!box) { return; }
    changed += 1;
    box.querySelector("[data-live-new-count]").textContent = changed;
    box.hidden = false;
  }

  /* The lists as the server renders them now, swapped in without leaving the page;
     ``said``: what a screen reader is told of it. */
  function showChanges(said) {
    fetch(location.pathname + location.search, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-alerts]");
        var old = root();
        if (!fresh || !old) { return; }
        old.replaceWith(document.importNode(fresh, true));
        changed = 0;
        Object.keys(statuses).forEach(function (id) { follow(statuses[id]); });
        live.announce(typeof said === "string" ? said : "Alerts updated");
      })
      .catch(function () { location.assign(location.pathname + location.search); });
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-live-new-show]")) { showChanges(); }
  });

  /* --- which incidents this view holds -------------------------------------------------- */

  /* "yes", "no", or "unsure" when the view's days or message filter decide it. */
  function belongs(data) {
    var server = setting("filter-server"), severity = setting("filter-severity");
    var alertname = setting("filter-alertname"), state = setting("filter-state");
    if ((server && String(data.server_id) !== server) || (severity && data.severity !== severity) ||
        (alertname && data.alertname !== alertname) || (state && data.state !== state)) { return "no"; }
    return setting("filter-narrow") === "true" ? "unsure" : "yes";
  }

  function list(name) { return document.querySelector("[data-incident-list='" + name + "']"); }

  function openOutageRow(serverId) {
    var table = list("open-incidents");
    return table && table.querySelector("tr[data-server-id='" + serverId + "'][data-alertname='" +
                                        OUTAGE_ALERT + "']");
  }

  /* Empty lists say so; a list with rows shows them (and the open list its bulk form). */
  function tidy() {
    [["open-incidents", "no-open"], ["past-incidents", "no-past"]].forEach(function (pair) {
      var table = list(pair[0]);
      if (!table) { return; }
      var rows = table.querySelectorAll("tbody tr").length;
      table.hidden = !rows;
      var none = document.querySelector("[data-testid='" + pair[1] + "']");
      if (none) { none.hidden = rows > 0; }
      if (pair[0] === "open-incidents") {
        var bulk = document.getElementById("bulk-ack");
        if (bulk) { bulk.hidden = !rows; }
      }
    });
    var opening = document.querySelector("[data-opening-list]");
    if (opening) {
      var count = opening.children.length;
      document.querySelector("[data-opening-section]").hidden = !count;
      document.querySelector("[data-opening-count]").textContent = count;
    }
  }

  function bump(selector, by) {
    var badge = document.querySelector(selector);
    if (!badge) { return; }
    var count = Math.max(0, (parseInt(badge.textContent, 10) || 0) + by);
    badge.textContent = count;
    var some = badge.getAttribute("data-class-some"), none = badge.getAttribute("data-class-none");
    if (some && none) {   /* the page says which look each has */
      badge.classList.toggle(some, count > 0);
      badge.classList.toggle(none, count === 0);
    }
  }

  /* --- one server's status: opening, ongoing, closing ------------------------------------- */

  /* The page names servers in its filter; with no incidents yet it has no filter, and
     carries the names instead. */
  function nameOf(id) {
    var names = document.querySelector("[data-server-names]");
    if (names) {
      try {
        var known = JSON.parse(names.getAttribute("data-server-names"))[id];
        if (known) { return known; }
      } catch (error) { /* the filter's names, then */ }
    }
    return live.serverName(id);
  }

  function downSince(data) {
    return data.change && data.change.status === "down" ? data.change.at : data.status_since;
  }

  function setEnded(row, kind, value, seconds) {
    var cell = row.querySelector("[data-ended-cell]");
    var made = clone("template[data-ended-template='" + kind + "']");
    if (!cell || !made) { return; }
    setTime(made, "time", value);
    fill(made, "duration", duration(seconds));
    cell.textContent = "";
    cell.appendChild(made);
    cell.setAttribute("data-ended", kind);
  }

  function follow(data) {
    var id = String(data.server_id);
    var row = openOutageRow(id);
    if (row && row.getAttribute("data-outage") === "true") {
      var kind = row.querySelector("[data-ended-cell]").getAttribute("data-ended");
      if (data.status === "up" && kind !== "closing") {
        setEnded(row, "closing", data.change && data.change.status === "up" ? data.change.at : data.status_since);
      } else if (data.status === "down" && kind === "closing") {
        setEnded(row, "ongoing", row.getAttribute("data-started"));
      }
    }
    var opening = document.querySelector("[data-opening-list]");
    if (!opening) { return; }
    var item = opening.querySelector("[data-opening-server='" + id + "']");
    var server = setting("filter-server");
    if (data.status !== "down" || row || (server && server !== id)) {
      if (item) { item.remove(); tidy(); }
      return;
    }
    if (!item) {
      var made = clone("template[data-opening-template]");
      if (!made) { return; }
      item = made.firstElementChild;
      item.setAttribute("data-opening-server", id);
      var link = item.querySelector("[data-slot='server']");
      link.href = "/servers/" + encodeURIComponent(id);
      link.textContent = nameOf(data.server_id);
      opening.appendChild(item);
    }
    setTime(item, "since", downSince(data));
    fill(item, "reason", data.reason || "");
    tidy();
  }

  /* --- one incident event -------------------------------------------------------------- */

  function newRow(data) {
    var made = clone("template[data-incident-row-template]");
    if (!made) { return null; }
    var row = made.firstElementChild;
    row.id = "incident-" + data.id;
    row.setAttribute("data-incident-id", data.id);
    row.setAttribute("data-state", data.state);
    row.setAttribute("data-server-id", data.server_id || "");
    row.setAttribute("data-alertname", data.alertname);
    row.setAttribute("data-started", data.started_at || "");
    row.setAttribute("data-outage", data.downtime && !data.flapping_since ? "true" : "false");
    var link = row.querySelector("[data-slot='server-link']");
    if (data.server_id) {
      link.href = "/servers/" + encodeURIComponent(data.server_id);
      link.textContent = data.server || "#" + data.server_id;
      row.querySelector("[data-slot='server-name']").remove();
    } else {
      link.remove();
      fill(row, "server-name", data.server || "—");
    }
    fill(row, "alertname", data.alertname);
    /* The template has the badge of each look; the other one goes. */
    var critical = data.severity === "critical";
    row.querySelector("[data-slot='" + (critical ? "severity-other" : "severity-critical") + "']").remove();
    fill(row, critical ? "severity-critical" : "severity-other", data.severity);
    var summary = row.querySelector("[data-slot='summary']");
    if (data.summary) { summary.textContent = data.summary; } else { summary.remove(); }
    setTime(row, "started", data.started_at);
    fill(row, "reason", data.reason || "—");
    var select = row.querySelector("[data-slot='select']");
    select.value = data.id;
    select.id = "select-" + data.id;
    select.setAttribute("aria-label", "Select " + (data.server || data.alertname) + " for acknowledging");
    var form = row.querySelector("[data-slot='ack-form']");
    form.action = setting("ack-url").replace("/alerts/0/ack", "/alerts/" + data.id + "/ack");
    form.setAttribute("data-testid", "ack-form-" + data.id);
    row.querySelector("[data-slot='note-label']").htmlFor = "ack-note-" + data.id;
    row.querySelector("[data-slot='note']").id = "ack-note-" + data.id;
    return row;
  }

  function showAcknowledged(row, data) {
    var cell = row.querySelector("[data-ack-cell]");
    var made = clone("template[data-acknowledged-template]");
    if (!cell || !made || cell.querySelector("[data-testid='acknowledged']")) { return; }
    fill(made, "who", data.acknowledged_by || "a deleted user");
    setTime(made, "time", data.acknowledged_at);
    var note = made.querySelector("[data-slot='note']");
    if (data.ack_note) { note.textContent = data.ack_note; } else { note.remove(); }
    cell.textContent = "";
    cell.appendChild(made);
  }

  /* Past incidents are newest start first; a row that sorts past a full page is not ours. */
  function placePast(row) {
    var table = list("past-incidents");
    if (!table) { return false; }
    var body = table.querySelector("tbody");
    var started = time.parse(row.getAttribute("data-started"));
    var before = null;
    body.querySelectorAll("tr").forEach(function (other) {
      var at = time.parse(other.getAttribute("data-started"));
      if (!before && started && at && at < started) { before = other; }
    });
    var size = parseInt(setting("past-size"), 10) || 0;
    if (!before && size && body.children.length >= size) { return false; }
    body.insertBefore(row, before);
    while (size && body.children.length > size) { body.lastElementChild.remove(); }
    bump("[data-past-count]", 1);
    return true;
  }

  function describe(data) {
    var what = (data.server || "unknown server") + ": " + data.alertname + " (" + data.severity + ")";
    var acked = time.parse(data.acknowledged_at);
    var ended = time.parse(data.ended_at);
    if (acked && (!ended || acked >= ended)) {
      return "Acknowledged by " + (data.acknowledged_by || "someone") + ": " + what;
    }
    return (data.state === "open" ? "New incident: " : "Incident resolved: ") + what;
  }

  function onIncident(data) {
    if (document.querySelector("[data-alerts-empty]")) {   /* the first incident: lists appear */
      showChanges(describe(data));
      return;
    }
    var row = document.querySelector("[data-incident-list] [data-incident-id='" + data.id + "']");
    var fits = belongs(data);
    var inOpen = row && row.closest("[data-incident-list='open-incidents']");
    if (row && data.acknowledged_at) { showAcknowledged(row, data); }
    if (row) { row.classList.add("incident-changed"); }
    if (data.state === "open") {
      if (row) {
        if (!data.acknowledged_at) { countChange(); }   /* a flapping or maintenance mark */
      } else if (fits === "yes" && list("open-incidents")) {
        row = newRow(data);
        var body = list("open-incidents").querySelector("tbody");
        body.insertBefore(row, body.firstElementChild);
        bump("[data-open-here]", 1);
        var opening = document.querySelector("[data-opening-server='" + data.server_id + "']");
        if (opening && data.alertname === OUTAGE_ALERT) { opening.remove(); }
        if (statuses[data.server_id]) { follow(statuses[data.server_id]); }
        if (!row.querySelector("[data-ended]")) { setEnded(row, "ongoing", data.started_at); }
      } else if (fits !== "no") {
        countChange();
      }
    } else {
      if (inOpen) {
        bump("[data-open-here]", -1);
        row.remove();
      }
      var past = setting("past-page") === "1";
      if (fits === "yes" && past && (inOpen || !row)) {
        var moved = inOpen ? row : newRow(data);
        moved.setAttribute("data-state", "resolved");
        var select = moved.querySelector("input[name='ids']");
        if (select) { select.remove(); }
        setEnded(moved, "resolved", data.ended_at, data.duration_s);
        if (data.acknowledged_at) { showAcknowledged(moved, data); }
        if (!placePast(moved) && !inOpen) { countChange(); }
      } else if (fits !== "no" && !(row && !inOpen)) {
        countChange();
      }
    }
    tidy();
    live.announce(describe(data));
  }

  live.on("snapshot", function (data) {
    statuses = {};
    (data.servers || []).forEach(function (server) { statuses[server.server_id] = server; });
    document.querySelectorAll("[data-opening-server]").forEach(function (item) {
      var known = statuses[item.getAttribute("data-opening-server")];
      if (!known || known.status !== "down") { item.remove(); }
    });
    Object.keys(statuses).forEach(function (id) { follow(statuses[id]); });
    tidy();
  });

  live.on("status", function (data) {
    statuses[data.server_id] = data;
    follow(data);
  });

  live.on("incident", onIncident);
  live.on("notification_failed", countChange);

  /* A link to one incident (?incident=N) marks its row; a #fragment chooses for itself. */
  var marked = document.querySelector("[data-highlight]");
  if (marked && !location.hash) {
    marked.scrollIntoView({ block: "center" });
    marked.focus({ preventScroll: true });
  }
})();
