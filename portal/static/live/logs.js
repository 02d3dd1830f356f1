/* servermon live, the Logs page: a banner lists each state change the log stores after
   the page loaded, with a link to reload. A status event without ``change`` (an outage
   incident opening or closing) stored nothing in the log, so it is not listed. */
(function () {
  "use strict";

  var live = window.servermonLive;
  if (!live) { return; }

  live.on("status", function (data) {
    var change = data.change;
    if (!change) { return; }
    var what = change.status === "down"
      ? " went down" + (data.reason ? ": " + data.reason : "")
      : " came back up";
    live.banner("[data-live-log]", live.serverName(data.server_id) + what);
  });
})();
