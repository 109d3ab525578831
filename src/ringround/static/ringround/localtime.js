// Show times in the volunteer's own time zone, and tell the server that zone's offset so a
// "call back at" time typed in local time is stored correctly. No inline script: CSP allows
// only files served by Ringround itself.
(function () {
  function localise(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) {
        el.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      }
    });
    root.querySelectorAll("input[name=tz_offset]").forEach(function (el) {
      el.value = String(new Date().getTimezoneOffset());
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSwap", function (event) { localise(event.target); });
})();
