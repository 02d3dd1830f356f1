/* servermon live, the core: one WebSocket to /ws on every signed-in page, and what every
   page shows of it (bell, open-incident badge, offline notice, screen-reader announcer).
   Page modules in this folder register handlers on window.servermonLive; markup comes
   from <template>s in _live_templates.html. Text from the server goes in as text. */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.hasAttribute("data-live")) { return; }

  var CONNECT_AFTER_MS = 1000;
  var MIN_DELAY_MS = 1000;
  var MAX_DELAY_MS = 30000;
  var RESYNC_AFTER_MS = 1500;
  /* Close codes from /ws (portal/realtime/watch.py and routes.py). */
  var REFUSED = 1008;         /* wrong origin, no session or no permission: retrying cannot help */
  var SESSION_ENDED = 4401;   /* signed out, disabled or a new password: the page decides */
  var ROLE_CHANGED = 4403;    /* the next socket carries the new role's events */
  var BANNER_ITEMS = 5;
  var zone = body.getAttribute("data-timezone") || undefined;
  var handlers = Object.create(null);   /* event type -> handlers, the core's own first */
  var looks = Object.create(null);   /* status -> its badge <template> */
  var shown = {};   /* server id -> the status last sent, to announce only changes */
  var socket = null;
  var delay = MIN_DELAY_MS;
  var connectTimer = null;
  var resyncTimer = null;
  var leaving = false;
  var navigatingUntil = 0;

  function on(type, handler) {
    (handlers[type] = handlers[type] || []).push(handler);
  }

  function dispatch(message) {
    if (!message || !handlers[message.type]) { return; }
    var data = message.data || {};
    handlers[message.type].forEach(function (handler) { handler(data); });
  }

  /* --- times ------------------------------------------------------------------------ */

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

  /* The zone's label as the server writes it ("EAT"): the page hands one per UTC offset in
     minutes (body[data-zone-abbrs], portal.web.formatting.zone_abbreviations), as the
     browser's own would be "GMT+3". */
  var zoneLabels = {};
  try { zoneLabels = JSON.parse(body.getAttribute("data-zone-abbrs") || "{}"); } catch (error) { zoneLabels = {}; }

  function zoneLabel(date, fallback) {
    var offset = "";
    try {
      new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "longOffset" })
        .formatToParts(date).forEach(function (part) { if (part.type === "timeZoneName") { offset = part.value; } });
    } catch (error) {
      return fallback;
    }
    var match = /([+-])(\d{1,2})(?::(\d{2}))?/.exec(offset);
    var minutes = match ? (match[1] === "-" ? -1 : 1) * (parseInt(match[2], 10) * 60 + parseInt(match[3] || "0", 10)) : 0;
    return zoneLabels[String(minutes)] || fallback;
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
    if (parts.hour === "24") { parts.hour = "00"; }
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" +
      parts.minute + ":" + parts.second + " " + zoneLabel(date, parts.timeZoneName);
  }

  /* "2 h 5 min", as the pages write a duration (portal/notify/messages.py human_duration). */
  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds || 0));
    var parts = [[Math.floor(seconds / 86400), "d"], [Math.floor(seconds % 86400 / 3600), "h"],
                 [Math.floor(seconds % 3600 / 60), "min"], [seconds % 60, "s"]];
    var shown = parts.filter(function (part) { return part[0]; }).slice(0, 2)
      .map(function (part) { return part[0] + " " + part[1]; });
    return shown.join(" ") || "0 s";
  }

  /* --- markup from the page's <template>s, filled with text ----------------------------- */

  function clone(selector) {
    var template = document.querySelector(selector);
    return template ? template.content.cloneNode(true) : null;
  }

  function fill(holder, slot, text) {
    holder.querySelectorAll("[data-slot='" + slot + "']").forEach(function (node) { node.textContent = text; });
  }

  function fillTime(holder, slot, value) {
    var date = parseTime(value);
    holder.querySelectorAll("[data-slot='" + slot + "']").forEach(function (node) {
      node.textContent = date ? localTime(date) : "unknown";
      if (date) { node.setAttribute("datetime", date.toISOString()); }
    });
  }

  /* --- what the page says about servers ------------------------------------------------ */

  document.querySelectorAll("template[data-status-badge-template]").forEach(function (template) {
    looks[template.getAttribute("data-status-badge-template")] = template;
  });

  /* A status as the status_badge macro shows it: a fresh badge, its word and the class it
     gives a status card; null for a status the page has no template for. */
  function statusLook(status) {
    var template = looks[status];
    if (!template) { return null; }
    return {
      badge: function () { return template.content.firstElementChild.cloneNode(true); },
      word: template.content.textContent.trim(),
      cardClass: template.getAttribute("data-status-class")
    };
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

  /* --- screen readers ------------------------------------------------------------------- */

  var announcer = document.querySelector("[data-live-announcer]");
  var pending = [];
  var announceTimer = null;

  /* A burst of changes is read as one message of its last three, not a queue of many. */
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

  /* --- the bell, the open-incident count and the offline notice -------------------------- */

  function currentUnread() {
    var badge = document.querySelector("[data-unread-count]");
    return badge ? parseInt(badge.textContent, 10) || 0 : 0;
  }

  function setUnread(count) {
    count = Math.max(0, count | 0);
    document.querySelectorAll("[data-unread-count]").forEach(function (badge) {
      badge.textContent = count;
      badge.hidden = count === 0;
    });
    document.querySelectorAll("[data-bell]").forEach(function (bell) {
      bell.setAttribute("aria-label", "Notifications, " + count + " unread");
    });
  }

  function setOpenIncidents(count) {
    document.querySelectorAll("[data-open-incidents]").forEach(function (badge) {
      badge.querySelectorAll("[data-open-count]").forEach(function (cell) { cell.textContent = count; });
      badge.hidden = !count;
    });
  }

  /* body[data-live-state] is "live" while connected and "offline" after losing the
     connection; the navbar's notice says so, as the page may then be out of date. */
  function setLiveState(state) {
    body.setAttribute("data-live-state", state);
    document.querySelectorAll("[data-live-offline]").forEach(function (notice) {
      notice.hidden = state !== "offline";
    });
  }

  /* --- "this page is out of date" banners ----------------------------------------------- */

  /* A line in the banner of the slot ``selector`` names, newest first, at most BANNER_ITEMS;
     the box comes from the page's template and its heading from the slot. */
  function banner(selector, line) {
    var slot = document.querySelector(selector);
    var template = document.querySelector("template[data-live-banner-template]");
    if (!slot || !template) { return; }
    var box = slot.querySelector("[data-live-banner]");
    if (!box) {
      box = template.content.firstElementChild.cloneNode(true);
      box.querySelector("[data-live-banner-heading]").textContent = slot.getAttribute("data-live-heading");
      box.querySelector("[data-live-reload]").href = location.pathname + location.search;
      slot.appendChild(box);
    }
    var list = box.querySelector("[data-live-banner-lines]");
    var item = document.createElement("li");
    item.textContent = line;
    list.insertBefore(item, list.firstChild);
    while (list.children.length > BANNER_ITEMS) { list.lastChild.remove(); }
  }

  /* --- what every page does with the events -------------------------------------------- */

  on("snapshot", function (data) {
    delay = MIN_DELAY_MS;
    setLiveState("live");
    shown = {};
    (data.servers || []).forEach(function (server) { shown[server.server_id] = server.status; });
    if (typeof data.unread === "number") { setUnread(data.unread); }
    if (typeof data.open_incidents === "number") { setOpenIncidents(data.open_incidents); }
  });

  /* The event carries the status to show (portal/servers/status.py decides it); a screen
     reader hears it when it differs from the last one sent, with the reason when down. */
  on("status", function (data) {
    var before = shown[data.server_id];
    shown[data.server_id] = data.status;
    document.dispatchEvent(new CustomEvent("servermon:status", { detail: data }));
    if (data.status === before) { return; }
    var look = statusLook(data.status);
    announce(serverName(data.server_id) + " is " + (look ? look.word.toLowerCase() : data.status) +
      (data.status === "down" && data.reason ? ": " + data.reason : ""));
  });

  on("notification", function (data) {
    setUnread(currentUnread() + 1);
    announce("New notification: " + data.title);
  });

  /* Incidents and maintenance change servers' status and the open-incident count in ways
     the event alone does not tell (which servers a label matches): take a fresh snapshot. */
  on("incident", scheduleResync);
  on("maintenance", scheduleResync);

  /* --- the connection ------------------------------------------------------------------- */

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
      dispatch(message);
    });
    ws.addEventListener("close", function (event) {
      if (ws !== socket) { return; }
      socket = null;
      var wasLive = body.hasAttribute("data-live-state");   /* set by a snapshot */
      if (event.code === SESSION_ENDED || (event.code === REFUSED && wasLive)) {
        /* Loaded again, the page goes to sign-in (and back here after it) unless this
           browser holds a newer session, say after a new password in another tab. A
           refusal after this page was live means the same: the session ended while it
           reconnected. A GET of the address, not reload(), which would post a form again. */
        leaving = true;
        /* Not while this page is already going somewhere (the sign-out form itself ends
           the session, and its own redirect to sign-in must win). */
        setTimeout(function () { location.replace(location.pathname + location.search); },
                   Math.max(navigatingUntil - Date.now(), 0));
        return;
      }
      if (body.getAttribute("data-live-state") === "live") { setLiveState("offline"); }
      if (event.code === REFUSED) { return; }   /* never live: loading again would loop */
      if (event.code === ROLE_CHANGED) {
        delay = MIN_DELAY_MS;
        schedule(0);
        return;
      }
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

  /* A fresh connection brings a fresh snapshot. Debounced, so a storm costs one reconnect. */
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

  /* A navigation has begun (a form sent, a link followed); a download may leave the page
     where it is, hence a few seconds rather than for good. */
  window.addEventListener("beforeunload", function () { navigatingUntil = Date.now() + 3000; });

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

  window.servermonLive = {
    on: on,
    banner: banner,
    announce: announce,
    serverName: serverName,
    scheduleResync: scheduleResync,
    status: statusLook,
    time: { parse: parseTime, ago: ago, localTime: localTime, duration: duration },
    dom: { clone: clone, fill: fill, fillTime: fillTime }
  };

  /* Connect once the page has been open a moment: a page left at once (a redirect, a quick
     click onwards) then costs the server no socket, and its snapshot covers the wait. */
  if ("WebSocket" in window) { schedule(CONNECT_AFTER_MS); }
})();
