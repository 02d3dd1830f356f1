/* servermon live, the Notifications page: a banner lists notifications that arrived after
   the page loaded, with a link to reload. (The core counts them on the bell.) */
(function () {
  "use strict";

  var live = window.servermonLive;
  if (!live) { return; }

  live.on("notification", function (data) {
    live.banner("[data-live-notifications]", data.title);
  });
})();
