/* servermon live, a server's page: its recent incidents tell the Alerts page's story, from
   the same events. The probes say down and no incident is open yet: "down since ...,
   incident opening" (status events); the incident opens at the top of the list (incident
   events); the probes say up: "Recovered at ..., incident closing"; it closes with its end
   and length. The words are the page's (<template>s from incidents/_incident_story.html). */
(function () {
  "use strict";

  var live = window.servermonLive;
  var box = document.querySelector("[data-recent-incidents]");
  if (!live || !box) { return; }

  var serverId = box.getAttribute("data-recent-incidents");
  var size = parseInt(box.getAttribute("data-size"), 10) || 10;
  var dom = live.dom;
  var last = null;   /* this server's last status event or snapshot entry */

  function body() { return box.querySelector("[data-recent-table] tbody"); }

  function openOutage() {
    return body().querySelector("tr[data-state='open'][data-outage='true']");
  }

  function setEnded(row, kind, value, seconds) {
    var cell = row.querySelector("[data-ended-cell]");
    var made = dom.clone("template[data-ended-template='" + kind + "']");
    if (!cell || !made) { return; }
    dom.fillTime(made, "time", value);
    dom.fill(made, "duration", live.time.duration(seconds));
    cell.textContent = "";
    cell.appendChild(made);
    cell.setAttribute("data-ended", kind);
  }

  function upTime(data) {
    return data.change && data.change.status === "up" ? data.change.at : data.status_since;
  }

  function downSince(data) {
    return data.change && data.change.status === "down" ? data.change.at : data.status_since;
  }

  /* The list shows its rows, or says it has none; the opening line shows while the probes
     say down and no outage is open. */
  function tidy() {
    var rows = body().children.length;
    box.querySelector("[data-recent-table]").hidden = !rows;
    box.querySelector("[data-testid='no-incidents']").hidden = rows > 0;
    var line = box.querySelector("[data-opening-line]");
    var opening = last && last.status === "down" && !openOutage();
    if (opening) { dom.fillTime(line, "since", downSince(last)); }
    line.hidden = !opening;
  }

  function follow(data) {
    if (String(data.server_id) !== serverId) { return; }
    last = data;
    var row = openOutage();
    if (row) {
      var kind = row.querySelector("[data-ended-cell]").getAttribute("data-ended");
      if (data.status === "up" && kind !== "closing") {
        setEnded(row, "closing", upTime(data));
      } else if (data.status === "down" && kind === "closing") {
        setEnded(row, "ongoing", row.getAttribute("data-started"));
      }
    }
    tidy();
  }

  function newRow(data) {
    var made = dom.clone("template[data-recent-incident-template]");
    if (!made) { return null; }
    var row = made.firstElementChild;
    row.setAttribute("data-incident-id", data.id);
    row.setAttribute("data-started", data.started_at || "");
    row.setAttribute("data-outage", data.downtime && !data.flapping_since ? "true" : "false");
    row.querySelector("[data-slot='link']").href = "/alerts?incident=" + encodeURIComponent(data.id);
    dom.fillTime(row, "started", data.started_at);
    dom.fill(row, "alertname", data.alertname);
    dom.fill(row, "reason", data.reason || data.summary || "—");
    return row;
  }

  live.on("incident", function (data) {
    if (String(data.server_id) !== serverId) { return; }
    var row = body().querySelector("tr[data-incident-id='" + data.id + "']");
    if (!row) {
      row = newRow(data);
      if (!row) { return; }
      body().insertBefore(row, body().firstElementChild);
      while (body().children.length > size) { body().lastElementChild.remove(); }
    }
    row.setAttribute("data-state", data.state);
    if (data.state !== "open") {
      setEnded(row, "resolved", data.ended_at, data.duration_s);
    } else if (last && last.status === "up" && row.getAttribute("data-outage") === "true") {
      setEnded(row, "closing", upTime(last));
    } else if (row.querySelector("[data-ended-cell]").getAttribute("data-ended") !== "ongoing") {
      setEnded(row, "ongoing", data.started_at);
    }
    tidy();
  });

  live.on("snapshot", function (data) {
    (data.servers || []).forEach(follow);
  });

  live.on("status", follow);
})();
