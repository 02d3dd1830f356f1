/* servermon: live updates over the WebSocket at /ws, on every signed-in page.
   The first frame of every connection is a snapshot, so reconnecting (with backoff,
   1 s doubling to 30 s) makes the page whole again. Text from the server goes into the
   page as text, never as HTML. Without this file, pages are right as of their loading. */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.hasAttribute("data-live")) { return; }

  var CONNECT_AFTER_MS = 1000;
  var MIN_DELAY_MS = 1000;
  var MAX_DELAY_MS = 30000;
  var RESYNC_AFTER_MS = 1500;
  var BANNER_ITEMS = 5;
  /* The same colours, icons and words as the status_badge macro in _macros.html. */
  var STATUS = {
    up: ["success", "check-circle-fill", "Up"],
    down: ["danger", "x-octagon-fill", "Down"],
    unknown: ["secondary", "question-circle", "Unknown"],
    maintenance: ["info", "tools", "Maintenance"]
  };
  var zone = body.getAttribute("data-timezone") || undefined;
  var statuses = {};   /* server id -> effective status: the last snapshot plus events since */
  var socket = null;
  var delay = MIN_DELAY_MS;
  var connectTimer = null;
  var resyncTimer = null;
  var leaving = false;

  /* --- small DOM helpers --------------------------------------------------------- */

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function icon(name) {
    var node = make("i", "bi bi-" + name);
    node.setAttribute("aria-hidden", "true");
    return node;
  }

  function each(selector, callback, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), callback);
  }

  /* --- times --------------------------------------------------------------------- */

  function parseTime(value) {
    if (value === null || value === undefined || value === "") { return null; }
    var date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return isNaN(date.getTime()) ? null : date;
  }

  function ago(date) {
    var seconds = Math.max(0, Math.floor((Date.now() - date.getTime()) / 1000));
    var units = [["d", 86400], ["h", 3600], ["min", 60]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) { return Math.floor(seconds / units[i][1]) + " " + units[i][0] + " ago"; }
    }
    return seconds + " s ago";
  }

  /* "2026-01-31 14:05:09 EAT", in the portal's configured time zone, as the pages write it. */
  function localTime(date) {
    var options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
                    minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short" };
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, options))
        .formatToParts(date).forEach(function (part) { parts[part.type] = part.value; });
    } catch (error) {
      return date.toISOString();
    }
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" +
      parts.minute + ":" + parts.second + " " + parts.timeZoneName;
  }

  function refreshAges() {
    each("article.server-tile [data-field='last-checked'] time[datetime]", function (node) {
      var date = parseTime(node.getAttribute("datetime"));
      if (date) { node.textContent = ago(date); }
    });
  }

  /* --- screen readers -------------------------------------------------------------- */

  var announcer = document.querySelector("[data-live-announcer]");
  var pending = [];
  var announceTimer = null;

  function announce(text) {
    if (!announcer) { return; }
    pending.push(text);
    if (announceTimer) { return; }
    announceTimer = setTimeout(function () {
      announceTimer = null;
      announcer.textContent = pending.slice(-3).join(". ");
      pending = [];
    }, 200);
  }

  /* --- servers: tiles, list rows, the detail page ------------------------------------ */

  function setBadge(badge, status) {
    var style = STATUS[status] || STATUS.unknown;
    badge.className = "badge text-bg-" + style[0] + " status-badge";
    badge.textContent = "";
    badge.appendChild(icon(style[1]));
    badge.appendChild(document.createTextNode(" " + style[2]));
  }

  function setReason(holder, status, reason) {
    var field = holder.querySelector("[data-field='reason']");
    if (holder.tagName === "ARTICLE") {   /* a dashboard tile: a reason only while down */
      if (status !== "down" || !reason) {
        if (field) { field.remove(); }
        return;
      }
      if (!field) {
        field = make("p", "small text-danger-emphasis mb-0 mt-2 text-break");
        field.setAttribute("data-field", "reason");
        var facts = holder.querySelector(".tile-facts");
        if (facts) { facts.after(field); } else { holder.querySelector(".card-body").appendChild(field); }
      }
      field.textContent = "";
      field.appendChild(icon("exclamation-triangle"));
      field.appendChild(document.createTextNode(" " + reason));
      return;
    }
    if (!reason) { return; }   /* the detail page keeps the last failure */
    if (!field) {
      var latency = holder.querySelector("[data-field='latency']");
      if (!latency || !latency.previousElementSibling) { return; }
      var term = make("dt", "col-sm-4", "Last failure");
      field = make("dd", "col-sm-8 text-break");
      field.setAttribute("data-field", "reason");
      latency.parentNode.insertBefore(term, latency.previousElementSibling);
      latency.parentNode.insertBefore(field, latency.previousElementSibling);
    }
    field.textContent = reason;
  }

  function setChecked(holder, value) {
    var field = holder.querySelector("[data-field='last-checked']");
    var date = parseTime(value);
    if (!field || !date) { return; }
    var time = make("time", null, holder.tagName === "ARTICLE" ? ago(date)
      : localTime(date) + " (" + ago(date) + ")");
    time.setAttribute("datetime", date.toISOString());
    time.setAttribute("title", localTime(date));
    field.textContent = "";
    field.appendChild(time);
  }

  function dashboardFiltered() {
    var query = new URLSearchParams(location.search);
    return Boolean(query.get("environment") || query.get("group"));
  }

  function bumpCount(status, by) {
    each("[data-count='" + status + "']", function (cell) {
      cell.textContent = Math.max(0, (parseInt(cell.textContent, 10) || 0) + by);
    });
  }

  /* Counts for the whole fleet come from the snapshot; a filtered dashboard only moves
     the counts of the tiles it shows, as it cannot know the others' environment or group. */
  function recount() {
    if (!document.querySelector("[data-count]") || dashboardFiltered()) { return; }
    var counts = {};
    Object.keys(statuses).forEach(function (id) {
      counts[statuses[id]] = (counts[statuses[id]] || 0) + 1;
    });
    each("[data-count]", function (cell) { cell.textContent = counts[cell.getAttribute("data-count")] || 0; });
  }

  function applyServer(server) {
    var id = String(server.id);
    var status = server.status;
    each("[data-server-id='" + id + "'][data-status]", function (holder) {
      var before = holder.getAttribute("data-status");
      if (status && status !== before) {
        holder.setAttribute("data-status", status);
        if (holder.classList.contains("server-tile")) {
          holder.classList.remove("status-" + before);
          holder.classList.add("status-" + status);
        }
        each("[data-status-badge]", function (badge) { setBadge(badge, status); }, holder);
        if (holder.tagName === "ARTICLE" && dashboardFiltered()) {
          bumpCount(before, -1);
          bumpCount(status, 1);
        }
      }
      if ("reason" in server) { setReason(holder, status || before, server.reason); }
      if ("latency_ms" in server) {
        each("[data-field='latency']", function (field) {
          field.textContent = server.latency_ms === null || server.latency_ms === undefined
            ? "—" : Math.round(server.latency_ms) + " ms";
        }, holder);
      }
      if ("last_checked" in server) { setChecked(holder, server.last_checked); }
    });
    if (status && location.pathname === "/servers/" + id) {
      each("main h1 [data-status-badge]", function (badge) { setBadge(badge, status); });
    }
  }

  /* The name as this page shows it: a tile, the detail page, a link or a server picker. */
  function serverName(id) {
    var tile = document.getElementById("tile-" + id + "-name");
    var link = document.querySelector("main a[href='/servers/" + id + "']");
    var crumb = location.pathname === "/servers/" + id && document.querySelector(".breadcrumb-item.active");
    var option = document.querySelector("select[name='server_id'] option[value='" + id + "'], " +
      "select[name='server'] option[value='" + id + "']");
    var found = tile || crumb || link || option;
    return found && found.textContent.trim() ? found.textContent.trim() : "Server " + id;
  }

  /* --- the bell and the open-incident count ------------------------------------------ */

  function currentUnread() {
    var badge = document.querySelector("[data-unread-count]");
    return badge ? parseInt(badge.textContent, 10) || 0 : 0;
  }

  function setUnread(count) {
    count = Math.max(0, count | 0);
    each("[data-unread-count]", function (badge) {
      badge.textContent = count;
      badge.hidden = count === 0;
    });
    each("[data-bell]", function (bell) { bell.setAttribute("aria-label", "Notifications, " + count + " unread"); });
  }

  function setOpenIncidents(count) {
    each("[data-open-incidents]", function (badge) {
      each("[data-open-count]", function (cell) { cell.textContent = count; }, badge);
      badge.hidden = !count;
    });
  }

  /* --- "this page is out of date" banners -------------------------------------------- */

  function banner(selector, heading, line) {
    var slot = document.querySelector(selector);
    if (!slot) { return; }
    var box = slot.querySelector("[data-live-banner]");
    if (!box) {
      box = make("div", "alert alert-info alert-dismissible fade show");
      box.setAttribute("role", "status");
      box.setAttribute("data-live-banner", "");
      box.appendChild(make("strong", null, heading));
      box.appendChild(make("ul", "mb-1 mt-1"));
      var reload = make("a", "alert-link", "Reload the page");
      reload.href = location.pathname + location.search;
      var hint = make("p", "mb-0");
      hint.appendChild(reload);
      hint.appendChild(document.createTextNode(" to see the changes."));
      box.appendChild(hint);
      var close = make("button", "btn-close");
      close.type = "button";
      close.setAttribute("data-bs-dismiss", "alert");
      close.setAttribute("aria-label", "Dismiss");
      box.appendChild(close);
      slot.appendChild(box);
    }
    var list = box.querySelector("ul");
    list.insertBefore(make("li", null, line), list.firstChild);
    while (list.children.length > BANNER_ITEMS) { list.lastChild.remove(); }
  }

  /* --- events ------------------------------------------------------------------------ */

  /* body[data-live-state] is "live" while connected and "offline" after losing the
     connection; the navbar's notice says so, as the page may then be out of date. */
  function setLiveState(state) {
    body.setAttribute("data-live-state", state);
    each("[data-live-offline]", function (notice) { notice.hidden = state !== "offline"; });
  }

  function onSnapshot(data) {
    delay = MIN_DELAY_MS;
    setLiveState("live");
    statuses = {};
    (data.servers || []).forEach(function (server) {
      statuses[server.server_id] = server.status;
      applyServer(Object.assign({ id: server.server_id }, server));
    });
    recount();
    if (typeof data.unread === "number") { setUnread(data.unread); }
    if (typeof data.open_incidents === "number") { setOpenIncidents(data.open_incidents); }
  }

  /* The event carries the effective status (portal/servers/status.py decides it), and
     ``change`` when it reports a state change the log has just stored. */
  function onStatus(data) {
    var id = data.server_id;
    var before = statuses[id];
    var status = data.status;
    statuses[id] = status;
    applyServer(Object.assign({ id: id }, data));
    recount();
    document.dispatchEvent(new CustomEvent("servermon:status", { detail: data }));
    if (status !== before) {
      var label = (STATUS[status] || STATUS.unknown)[2].toLowerCase();
      announce(serverName(id) + " is " + label + (status === "down" && data.reason ? ": " + data.reason : ""));
    }
    var change = data.change;
    if (change && document.querySelector("[data-live-log]")) {
      banner("[data-live-log]", "State changes since this page was loaded:", serverName(id) +
        (change.status === "down" ? " went down" + (data.reason ? ": " + data.reason : "") : " came back up"));
    }
  }

  function describeIncident(data) {
    var what = (data.server || "unknown server") + ": " + data.alertname + " (" + data.severity + ")";
    var acked = parseTime(data.acknowledged_at);
    var ended = parseTime(data.ended_at);
    if (acked && (!ended || acked >= ended)) {
      return "Acknowledged by " + (data.acknowledged_by || "someone") + ": " + what;
    }
    return (data.state === "open" ? "New incident: " : "Incident resolved: ") + what;
  }

  function onIncident(data) {
    var text = describeIncident(data);
    var row = document.querySelector("[data-incident-id='" + data.id + "']");
    if (row) { row.classList.add("incident-changed"); }
    if (document.querySelector("[data-live-incidents]")) {
      banner("[data-live-incidents]", "Incidents changed since this page was loaded:", text);
      announce(text);
    }
    scheduleResync();
  }

  function onNotification(data) {
    setUnread(currentUnread() + 1);
    announce("New notification: " + data.title);
    banner("[data-live-notifications]", "New notifications:", data.title);
  }

  function onNotificationFailed(data) {
    banner("[data-live-incidents]", "Incidents changed since this page was loaded:",
      "A notification for incident #" + data.incident_id + " could not be delivered");
  }

  function onMaintenance(data) {
    var what = data.label ? "servers labelled " + data.label : serverName(data.server_id);
    banner("[data-live-maintenance]", "Maintenance windows changed:",
      (data.cancelled_at ? "Cancelled: " : "Planned: ") + what + " (" + data.reason + ")");
    scheduleResync();
  }

  var HANDLERS = {
    snapshot: onSnapshot,
    status: onStatus,
    incident: onIncident,
    notification: onNotification,
    notification_failed: onNotificationFailed,
    maintenance: onMaintenance
  };

  function handle(message) {
    var handler = message && HANDLERS[message.type];
    if (handler) { handler(message.data || {}); }
  }

  /* --- the connection ---------------------------------------------------------------- */

  function schedule(wait) {
    if (connectTimer || leaving) { return; }
    connectTimer = setTimeout(connect, wait);
  }

  function connect() {
    connectTimer = null;
    var ws;
    try {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    } catch (error) {
      retry();
      return;
    }
    socket = ws;
    ws.addEventListener("message", function (event) {
      if (ws !== socket) { return; }
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      handle(message);
    });
    ws.addEventListener("close", function () {
      if (ws !== socket) { return; }
      socket = null;
      if (body.getAttribute("data-live-state") === "live") { setLiveState("offline"); }
      retry();
    });
  }

  /* Exponential backoff with a little jitter, so a restarted portal is not hit by every
     browser in the same second; a snapshot resets it. */
  function retry() {
    var wait = delay + Math.floor(Math.random() * delay * 0.2);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    schedule(Math.min(wait, MAX_DELAY_MS));
  }

  /* Incidents and maintenance change servers' effective status in ways the event alone
     does not tell (which servers a label matches, what an ended outage leaves): a fresh
     connection brings a fresh snapshot. Debounced, so a storm costs one reconnect. */
  function scheduleResync() {
    clearTimeout(resyncTimer);
    resyncTimer = setTimeout(function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) { return; }
      var old = socket;
      socket = null;
      old.close();
      schedule(0);
    }, RESYNC_AFTER_MS);
  }

  window.addEventListener("pagehide", function () {
    leaving = true;
    clearTimeout(connectTimer);
    connectTimer = null;
    if (socket && socket.readyState === WebSocket.OPEN) {
      var old = socket;
      socket = null;
      old.close();
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {   /* back from the page cache: connect again for a fresh snapshot */
      leaving = false;
      delay = MIN_DELAY_MS;
      if (!socket) { schedule(0); }
    }
  });

  /* --- the Alerts page: the incident an e-mail or SMS linked to ----------------------- */

  var marked = document.querySelector("[data-highlight]");
  if (marked && !location.hash) {
    marked.scrollIntoView({ block: "center" });
    marked.focus({ preventScroll: true });
  }

  setInterval(refreshAges, 30000);
  /* Connect once the page has been open a moment: a page left at once (a redirect, a quick
     click onwards) then costs the server no socket, and its snapshot covers the wait. */
  if ("WebSocket" in window) { schedule(CONNECT_AFTER_MS); }
})();
