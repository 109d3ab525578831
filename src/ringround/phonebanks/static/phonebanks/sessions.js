// Sessions: show each session's time in the viewer's own zone (date and time), and tell the
// server the organiser's zone so typed times are stored right. A file: the CSP allows no
// inline script.
(function () {
  function run() {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    document.querySelectorAll("input[name=time_zone]").forEach(function (el) {
      if (zone && !el.dataset.filled && !el.hasAttribute("data-fixed")) {
        el.value = zone;
        el.dataset.filled = "1";
        document.querySelectorAll("[data-zone-name]").forEach(function (n) { n.textContent = zone; });
      }
    });
    document.querySelectorAll("time[data-session-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when) || el.dataset.done) { return; }
      el.dataset.done = "1";
      el.textContent = when.toLocaleString([], {
        weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"
      });
      var ends = new Date(el.getAttribute("data-ends"));
      if (!isNaN(ends)) {
        el.textContent += "–" + ends.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
