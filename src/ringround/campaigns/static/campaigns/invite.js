// The invite page: copy the link with one tap, and type the expiry in the organiser's own
// time zone. A file, not an inline script (the CSP allows only Ringround's own files).
(function () {
  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById(button.getAttribute("aria-describedby"));
      button.hidden = false;
      button.addEventListener("click", function () {
        function done(ok) {
          status.textContent = ok ? "Copied." : "Press and hold the link to copy it.";
        }
        field.focus();
        field.select();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(function () { done(true); },
            function () { done(document.execCommand("copy")); });
        } else {
          done(document.execCommand("copy"));
        }
      });
    });
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  // The browser's own zone: the expiry is shown and typed in it, and the server told which.
  function localZone() {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) { return; }
    document.querySelectorAll("input[name=time_zone]").forEach(function (el) { el.value = zone; });
    document.querySelectorAll("[data-zone-name]").forEach(function (el) { el.textContent = zone; });
    document.querySelectorAll("input[data-utc]").forEach(function (el) {
      var when = new Date(el.getAttribute("data-utc"));
      if (el.getAttribute("data-utc") && !isNaN(when)) {
        el.value = when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) +
          "T" + pad(when.getHours()) + ":" + pad(when.getMinutes());
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { copyButtons(); localZone(); });
})();
