/* servermon live, the fleet view and the wall: each cell follows its server's status
   events and moves to its place (problems first, then by name, as the page rendered
   them), so a server going down rises to the top without a reload. The state icon is
   cloned from templates Jinja rendered. Nothing is kept per event: a wall runs for days. */
(function () {
  "use strict";

  var SEVERITY = ["down", "unknown", "maintenance", "up"];   /* portal/servers/status.py */
  var PHONE = "(max-width: 575.98px)";
  var CLOCK_EVERY_MS = 1000;

  /* --- a phone takes the fleet view while the user has not chosen (before the socket) --- */

  var choice = document.querySelector("[data-dashboard-view]");
  if (choice && choice.getAttribute("data-view-chosen") === "false" &&
      choice.getAttribute("data-dashboard-view") === "tiles" && window.matchMedia(PHONE).matches) {
    var query = new URLSearchParams(location.search);
    query.set("view", "fleet");
    query.delete("page");
    location.replace(location.pathname + "?" + query.toString());
    return;
  }

  var live = window.servermonLive;
  var lists = document.querySelectorAll("[data-fleet]");
  if (!live || !lists.length) { return; }
  var time = live.time;
  var wall = document.body.hasAttribute("data-wall");
  var beatsWide = 40;

  function rank(status) {
    var at = SEVERITY.indexOf(status);
    return at < 0 ? SEVERITY.length : at;
  }

  function compare(a, b) {
    var byRank = rank(a.getAttribute("data-fleet-status")) - rank(b.getAttribute("data-fleet-status"));
    if (byRank) { return byRank; }
    var an = a.getAttribute("data-fleet-name"), bn = b.getAttribute("data-fleet-name");
    if (an !== bn) { return an < bn ? -1 : 1; }
    return parseInt(a.getAttribute("data-fleet-id"), 10) - parseInt(b.getAttribute("data-fleet-id"), 10);
  }

  /* Put one cell where it belongs among its siblings (they are in order already). */
  function place(cell) {
    var list = cell.parentNode;
    var before = null;
    for (var node = list.firstElementChild; node; node = node.nextElementSibling) {
      if (node !== cell && compare(cell, node) < 0) { before = node; break; }
    }
    if (before !== cell.nextElementSibling || (!before && list.lastElementChild !== cell)) {
      list.insertBefore(cell, before);
    }
  }

  function sortAll() {
    lists.forEach(function (list) {
      var cells = Array.prototype.slice.call(list.children);
      cells.sort(compare);
      cells.forEach(function (cell) { list.appendChild(cell); });
    });
  }

  /* --- one cell ---------------------------------------------------------------------- */

  function clone(selector) {
    var template = document.querySelector(selector);
    return template ? template.content.cloneNode(true) : null;
  }

  function setState(cell, status) {
    var before = cell.getAttribute("data-fleet-status");
    var template = document.querySelector("template[data-fleet-state-template='" + status + "']");
    if (!template) { return false; }
    var was = live.status(before), look = live.status(status);
    if (was) { cell.classList.remove(was.cardClass); }
    if (look) { cell.classList.add(look.cardClass); }
    cell.setAttribute("data-fleet-status", status);
    var icon = cell.querySelector("[data-fleet-state]");
    if (icon) { icon.replaceWith(template.content.firstElementChild.cloneNode(true)); }
    return before !== status;
  }

  /* When a down server went down, or the latency of an up one; never a failed probe's time. */
  function setMetric(cell, server) {
    var field = cell.querySelector("[data-fleet-metric]");
    if (!field) { return; }
    field.textContent = "";
    var since = time.parse(server.status_since);
    if (server.status === "down" && since) {
      var full = time.localTime(since);
      var today = time.localTime(new Date()).slice(0, 10) === full.slice(0, 10);
      var made = clone("template[data-fleet-since-template]");
      if (!made) { return; }
      var node = made.querySelector("time");
      node.setAttribute("datetime", since.toISOString());
      node.setAttribute("title", node.getAttribute("data-title-prefix") + full);
      node.removeAttribute("data-title-prefix");
      node.querySelector("[data-since]").textContent = today ? full.slice(11, 16) : full.slice(5, 10);
      field.appendChild(made);
    } else if (server.status === "up" && server.latency_ms !== null && server.latency_ms !== undefined) {
      field.textContent = Math.round(server.latency_ms) + " ms";
    } else {
      var none = clone("template[data-fleet-none-template]");
      if (none) { field.appendChild(none); }
    }
  }

  /* The same geometry as portal/servers/fleet.py heartbeat_bar. */
  function setBeats(cell, beats) {
    if (typeof beats !== "string") { return; }
    var svg = cell.querySelector("[data-fleet-beats]");
    if (!svg) { return; }
    beats = beats.slice(-beatsWide);
    var offset = beatsWide - beats.length, up = "", down = "", failures = 0, start = 0;
    for (var i = 1; i <= beats.length; i++) {
      if (i === beats.length || beats[i] !== beats[start]) {
        var width = i - start, path = "M" + (offset + start) + " 0h" + width + "v10h-" + width + "z";
        if (beats[start] === "u") { up += path; } else if (beats[start] === "d") { down += path; failures += width; }
        start = i;
      }
    }
    svg.querySelector("[data-beat='u']").setAttribute("d", up);
    svg.querySelector("[data-beat='d']").setAttribute("d", down);
    var label = !beats.length ? "No probe results yet"
      : "Last " + beats.length + " probes" + (beats.length < beatsWide ? " (all since the exporter last started)" : "") +
        ": " + (beats.length - failures) + " up, " + failures + " down";
    var title = svg.querySelector("title");
    if (title) { title.textContent = label; }
  }

  function apply(server, sorting) {
    var cell = document.querySelector("[data-fleet-id='" + server.server_id + "']");
    if (!cell) { return false; }
    var moved = setState(cell, server.status);
    setMetric(cell, server);
    setBeats(cell, server.beats);
    if (moved && sorting) { place(cell); }
    return true;
  }

  var firstBeats = document.querySelector("[data-fleet-beats]");
  if (firstBeats) {
    var box = (firstBeats.getAttribute("viewBox") || "").split(" ");
    beatsWide = parseInt(box[2], 10) || beatsWide;
  }

  /* At most once a minute, so a page served from the portal's few-second cache cannot
     make the wall reload in a loop. */
  function reloadOnce() {
    var key = "servermon.wall.reloaded", last = 0;
    try { last = parseInt(sessionStorage.getItem(key), 10) || 0; } catch (error) { last = 0; }
    if (Date.now() - last < 60000) { return; }
    try { sessionStorage.setItem(key, String(Date.now())); } catch (error) { return; }
    location.replace(location.pathname + location.search);
  }

  live.on("snapshot", function (data) {
    var servers = data.servers || [];
    var missing = false;
    servers.forEach(function (server) { if (!apply(server, false)) { missing = true; } });
    sortAll();
    /* The wall shows the whole enabled fleet: a server added, removed or paused while it
       was away (or offline) is only right after a fresh render. */
    if (wall && (missing || servers.length !== document.querySelectorAll("[data-fleet-id]").length)) {
      reloadOnce();
    }
  });

  live.on("status", function (data) { apply(data, true); });

  /* --- the wall's clock ------------------------------------------------------------------ */

  var clock = document.querySelector("[data-wall-clock]");
  if (clock) {
    setInterval(function () {
      var now = new Date();
      clock.textContent = time.localTime(now);
      clock.setAttribute("datetime", now.toISOString());
    }, CLOCK_EVERY_MS);
  }
})();
