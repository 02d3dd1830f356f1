/* servermon live, the page of maintenance windows: a banner lists windows planned or
   cancelled since the page loaded, with a link to reload. (The core takes a fresh
   snapshot after each, as they change servers' status.) */
(function () {
  "use strict";

  var live = window.servermonLive;
  if (!live) { return; }

  live.on("maintenance", function (data) {
    var what = data.label ? "servers labelled " + data.label : live.serverName(data.server_id);
    var done = data.cancelled_at ? "Cancelled: " : "Planned: ";
    live.banner("[data-live-maintenance]", done + what + " (" + data.reason + ")");
  });
})();
