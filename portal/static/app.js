/* servermon: progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* Server form: show only the settings that apply to the chosen kind of check.
     A section holding a field error stays visible so the error can be seen. */
  function syncKind(select) {
    var form = select.form;
    if (!form) { return; }
    var kind = select.value;
    form.querySelectorAll("[data-kinds]").forEach(function (section) {
      var kinds = section.getAttribute("data-kinds").split(" ");
      var hasError = section.querySelector(".is-invalid") !== null;
      section.hidden = kinds.indexOf(kind) === -1 && !hasError;
    });
  }

  document.querySelectorAll("[data-kind-select]").forEach(function (select) {
    syncKind(select);
    select.addEventListener("change", function () { syncKind(select); });
  });

  /* Grafana panels (the grafana_panel macro) in the page's colour mode (theme.js sets it):
     the server renders theme=light; a dark page asks for theme=dark before the lazy frame
     loads, and again when the preference changes. */
  function grafanaTheme() {
    var theme = document.documentElement.getAttribute("data-bs-theme") === "dark" ? "dark" : "light";
    document.querySelectorAll("iframe.grafana-panel[src]").forEach(function (frame) {
      var url;
      try { url = new URL(frame.getAttribute("src"), location.href); } catch (error) { return; }
      if (url.searchParams.get("theme") === theme) { return; }
      url.searchParams.set("theme", theme);
      frame.setAttribute("src", url.toString());
    });
  }

  grafanaTheme();
  if (window.matchMedia) {
    var scheme = window.matchMedia("(prefers-color-scheme: dark)");
    /* After theme.js's own listener, which was added first. */
    if (scheme.addEventListener) { scheme.addEventListener("change", grafanaTheme); }
  }

  /* Filter forms submit as soon as a select changes (the Apply button remains for keyboards). */
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () { form.requestSubmit(); });
    });
  });

  /* Forms that need a second thought ask for it. */
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  /* Copy buttons: data-copy="<selector of the input to copy>". */
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field) { return; }
      field.select();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {});
      }
    });
  });

  /* Move focus to the first field with an error, so keyboard users land on the problem. */
  var firstInvalid = document.querySelector("main .is-invalid");
  if (firstInvalid && typeof firstInvalid.focus === "function") { firstInvalid.focus(); }
})();
