/* servermon live, warning badges (servers/_warnings.html) on the dashboard's tiles and
   cells and on a server's page: an incident event of severity "warning" adds the warning
   to its server's badge when it opens and takes it off when it resolves, so the count and
   the title follow without a reload. Each holder keeps its warnings as
   data-warning-list ([{id, text}]); the badge is cloned from the page's template and
   filled with text. What a dropped connection missed shows at the next page load. */
(function () {
  "use strict";

  var live = window.servermonLive;
  if (!live || !document.querySelector("[data-warnings]")) { return; }

  function listOf(holder) {
    try { return JSON.parse(holder.getAttribute("data-warning-list") || "[]"); } catch (error) { return []; }
  }

  /* As portal.incidents.warnings.OpenWarning.text says it. */
  function textOf(incident) {
    return incident.summary ? incident.alertname + ": " + incident.summary : incident.alertname;
  }

  function render(holder, serverId, list) {
    holder.setAttribute("data-warning-list", JSON.stringify(list));
    var badge = holder.querySelector("[data-warning-badge]");
    if (!list.length) {
      if (badge) { badge.remove(); }
      return;
    }
    if (!badge) {
      var template = document.querySelector("template[data-warning-badge-template]");
      if (!template) { return; }
      badge = template.content.firstElementChild.cloneNode(true);
      badge.setAttribute("href", badge.getAttribute("href") + encodeURIComponent(serverId));
      holder.appendChild(badge);
    }
    var many = list.length === 1 ? "" : "s";
    badge.querySelector("[data-warning-count]").textContent = String(list.length);
    var hidden = badge.querySelector(".visually-hidden");
    if (hidden) { hidden.textContent = " open warning" + many; }
    badge.title = list.length + " open warning" + many + ": " +
      list.map(function (warning) { return warning.text; }).join("; ");
  }

  live.on("incident", function (incident) {
    if (!incident || incident.server_id === null || incident.server_id === undefined) { return; }
    var serverId = String(incident.server_id);
    document.querySelectorAll("[data-warnings='" + serverId + "']").forEach(function (holder) {
      var list = listOf(holder).filter(function (warning) { return warning.id !== incident.id; });
      if (incident.severity === "warning" && incident.state === "open") {
        list.push({ id: incident.id, text: textOf(incident) });
      }
      render(holder, serverId, list);
    });
  });
})();
