/* servermon live, the server pages: dashboard tiles and counts, the server list's rows and
   a server's own page follow the status each event sends, with badges, the tile's reason
   and the "Last failure" row cloned from templates Jinja rendered. */
(function () {
  "use strict";

  var live = window.servermonLive;
  if (!live) { return; }

  var AGES_EVERY_MS = 30000;
  var time = live.time;
  var shown = {};   /* server id -> the status last sent: the snapshot, then events */

  function cloneTemplate(selector) {
    var template = document.querySelector(selector);
    return template ? template.content.cloneNode(true) : null;
  }

  /* --- one holder: a tile, a list row, the server page's status card or heading --------- */

  /* False when the page has no template for the status: the holder is left as it was. */
  function setStatus(holder, status) {
    var before = live.status(holder.getAttribute("data-status"));
    var look = live.status(status);
    if (!look) { return false; }
    holder.setAttribute("data-status", status);
    if (before && holder.classList.contains(before.cardClass)) {
      holder.classList.replace(before.cardClass, look.cardClass);
    }
    holder.querySelectorAll("[data-status-badge]").forEach(function (badge) {
      badge.replaceWith(look.badge());
    });
    return true;
  }

  /* A tile shows why it is down, and nothing otherwise, as _tiles.html does. */
  function setTileReason(tile, status, reason) {
    var field = tile.querySelector("[data-field='reason']");
    if (status !== "down" || !reason) {
      if (field) { field.remove(); }
      return;
    }
    if (!field) {
      var anchor = tile.querySelector("[data-reason-after]");
      var made = cloneTemplate("template[data-tile-reason-template]");
      if (!anchor || !made) { return; }
      field = made.firstElementChild;
      anchor.after(field);
    }
    field.querySelector("[data-reason-text]").textContent = reason;
  }

  /* The server page keeps its last failure when the server recovers, until a reload. */
  function setLastFailure(card, reason) {
    if (!reason) { return; }
    var field = card.querySelector("[data-field='reason']");
    if (!field) {
      /* The row goes where the page puts it: before the latency's <dt>. */
      var latency = card.querySelector("[data-field='latency']");
      var term = latency && latency.previousElementSibling;
      var made = term && cloneTemplate("template[data-last-failure-template]");
      if (!made) { return; }
      field = made.querySelector("[data-field='reason']");
      term.before(made);
    }
    field.textContent = reason;
  }

  function setLatency(holder, value) {
    holder.querySelectorAll("[data-field='latency']").forEach(function (field) {
      field.textContent = value === null || value === undefined ? "—" : Math.round(value) + " ms";
    });
  }

  /* A tile says how long ago; the server page says when, and how long ago. */
  function setChecked(holder, value) {
    var field = holder.querySelector("[data-field='last-checked']");
    var date = time.parse(value);
    if (!field || !date) { return; }
    var node = document.createElement("time");
    node.textContent = isTile(holder) ? time.ago(date)
      : time.localTime(date) + " (" + time.ago(date) + ")";
    node.setAttribute("datetime", date.toISOString());
    node.setAttribute("title", time.localTime(date));
    field.textContent = "";
    field.appendChild(node);
  }

  function isTile(holder) {
    return holder.tagName === "ARTICLE";
  }

  /* --- the dashboard's counts ------------------------------------------------------------ */

  function dashboardFiltered() {
    var query = new URLSearchParams(location.search);
    return Boolean(query.get("environment") || query.get("group"));
  }

  function bumpCount(status, by) {
    document.querySelectorAll("[data-count='" + status + "']").forEach(function (cell) {
      cell.textContent = Math.max(0, (parseInt(cell.textContent, 10) || 0) + by);
    });
  }

  /* Counts for the whole fleet come from the snapshot; a filtered dashboard only moves
     the counts of the tiles it shows, as it cannot know the others' environment or group. */
  function recount() {
    if (!document.querySelector("[data-count]") || dashboardFiltered()) { return; }
    var counts = {};
    Object.keys(shown).forEach(function (id) { counts[shown[id]] = (counts[shown[id]] || 0) + 1; });
    document.querySelectorAll("[data-count]").forEach(function (cell) {
      cell.textContent = counts[cell.getAttribute("data-count")] || 0;
    });
  }

  /* --- a server's snapshot entry or status event ------------------------------------------ */

  function apply(server) {
    var selector = "[data-server-id='" + server.server_id + "'][data-status]";
    document.querySelectorAll(selector).forEach(function (holder) {
      var before = holder.getAttribute("data-status");
      if (server.status !== before && setStatus(holder, server.status) &&
          isTile(holder) && dashboardFiltered()) {
        bumpCount(before, -1);
        bumpCount(server.status, 1);
      }
      if ("reason" in server) {
        if (isTile(holder)) { setTileReason(holder, server.status, server.reason); }
        else { setLastFailure(holder, server.reason); }
      }
      if ("latency_ms" in server) { setLatency(holder, server.latency_ms); }
      if ("last_checked" in server) { setChecked(holder, server.last_checked); }
    });
  }

  live.on("snapshot", function (data) {
    shown = {};
    (data.servers || []).forEach(function (server) {
      shown[server.server_id] = server.status;
      apply(server);
    });
    recount();
  });

  live.on("status", function (data) {
    shown[data.server_id] = data.status;
    apply(data);
    recount();
  });

  /* The tiles' "x s ago" would otherwise freeze at the last event. */
  setInterval(function () {
    document.querySelectorAll("article.server-tile [data-field='last-checked'] time[datetime]")
      .forEach(function (node) {
        var date = time.parse(node.getAttribute("datetime"));
        if (date) { node.textContent = time.ago(date); }
      });
  }, AGES_EVERY_MS);
})();
