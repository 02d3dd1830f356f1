/* servermon live, the Alerts page: a banner says which incidents changed since the page
   loaded, their rows are marked, and the incident an e-mail or SMS linked to is scrolled
   to and focused. (The core takes a fresh snapshot after every incident.) */
(function () {
  "use strict";

  var live = window.servermonLive;
  if (!live) { return; }

  function describe(data) {
    var what = (data.server || "unknown server") + ": " + data.alertname + " (" + data.severity + ")";
    var acked = live.time.parse(data.acknowledged_at);
    var ended = live.time.parse(data.ended_at);
    if (acked && (!ended || acked >= ended)) {
      return "Acknowledged by " + (data.acknowledged_by || "someone") + ": " + what;
    }
    return (data.state === "open" ? "New incident: " : "Incident resolved: ") + what;
  }

  live.on("incident", function (data) {
    var text = describe(data);
    var row = document.querySelector("[data-incident-id='" + data.id + "']");
    if (row) { row.classList.add("incident-changed"); }
    live.banner("[data-live-incidents]", text);
    live.announce(text);
  });

  live.on("notification_failed", function (data) {
    live.banner("[data-live-incidents]",
      "A notification for incident #" + data.incident_id + " could not be delivered");
  });

  /* A link to one incident (?incident=N) marks its row; a #fragment chooses for itself. */
  var marked = document.querySelector("[data-highlight]");
  if (marked && !location.hash) {
    marked.scrollIntoView({ block: "center" });
    marked.focus({ preventScroll: true });
  }
})();
