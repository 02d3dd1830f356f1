/* servermon live, the wall's fit: an operations-room screen has no scroll bar anyone will
   use, so every problem must be on it whatever the fleet's size. While the board is taller
   than the screen it steps down through denser layouts (body[data-wall-fit], app.css):
   1 smaller lines; 2 servers that are up as name chips, problems as full lines; 3 up
   servers as a count per section, problems as full lines; 4 problems as chips too. The
   step is chosen again when the screen or the fleet's states change. */
(function () {
  "use strict";

  var body = document.body;
  var live = window.servermonLive;
  if (!body.hasAttribute("data-wall") || !live) { return; }
  var STEPS = 4;
  var AFTER_MS = 250;   /* a storm's events re-sort the board many times a second: fit once */
  var timer = null;

  function overflows() {
    return document.documentElement.scrollHeight > window.innerHeight + 1;
  }

  function countRest() {
    document.querySelectorAll(".wall-section").forEach(function (section) {
      var rest = section.querySelector("[data-wall-up-rest]");
      if (!rest) { return; }
      var up = section.querySelectorAll("[data-fleet-status='up']").length;
      var others = section.querySelectorAll("[data-fleet-status]").length > up;
      rest.textContent = (others ? "and " : "") + up + (up === 1 ? " server up" : " servers up");
      rest.hidden = !up;
    });
  }

  function fit() {
    timer = null;
    countRest();
    var step = 0;
    body.setAttribute("data-wall-fit", "0");
    while (overflows() && step < STEPS) {
      step += 1;
      body.setAttribute("data-wall-fit", String(step));
    }
  }

  function later() {
    if (timer === null) { timer = setTimeout(fit, AFTER_MS); }
  }

  fit();
  window.addEventListener("resize", later);
  live.on("snapshot", later);
  live.on("status", later);
})();
