/* servermon colour mode: Bootstrap 5.3's data-bs-theme follows the browser's preference,
   set before the first paint (this file is loaded in <head>, the CSP allows no inline
   script) and again whenever the preference changes. */
(function () {
  "use strict";

  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function apply() {
    document.documentElement.setAttribute("data-bs-theme", query && query.matches ? "dark" : "light");
  }

  apply();
  if (query) {
    if (query.addEventListener) { query.addEventListener("change", apply); }
    else if (query.addListener) { query.addListener(apply); }
  }
})();
