// The contact card from the keyboard: number keys choose what happened (1 is the first
// outcome), Enter saves and brings the next person. Showing the survey or the call-back time
// for the outcome chosen needs no script (site.css, ":has"); the server decides what counts.
(function () {
  var form = document.getElementById("call-form");
  if (!form) { return; }
  var outcomes = form.querySelectorAll("input[name=outcome]");
  var typing = "textarea, select, input:not([type=radio]):not([type=checkbox]), [contenteditable]";

  // After a refused save the page opens at the field to put right (its #anchor), and Chromium
  // then skips autofocus: focus it here, where the anchor has already scrolled.
  window.addEventListener("load", function () {
    var toPutRight = form.querySelector("[autofocus]");
    if (toPutRight && document.activeElement !== toPutRight) {
      toPutRight.focus({ preventScroll: true });
    }
  });

  // The line knows some outcomes (no answer, busy, a machine): when its status, polled, says
  // so, choose that outcome unless the volunteer has chosen one already.
  document.body.addEventListener("htmx:afterSwap", function () {
    var suggestion = document.getElementById("line-suggestion");
    if (!suggestion || form.querySelector("input[name=outcome]:checked")) { return; }
    var choice = form.querySelector("input[name=outcome][value='" + suggestion.value + "']");
    if (choice) {
      choice.checked = true;
      choice.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
    var target = event.target;
    if (target.closest(typing)) { return; }
    if (/^[1-9]$/.test(event.key) && !target.closest(".survey")) {
      var choice = outcomes[Number(event.key) - 1];
      if (choice) {
        event.preventDefault();
        choice.checked = true;
        choice.focus();
        choice.dispatchEvent(new Event("change", { bubbles: true }));
      }
    } else if (event.key === "Enter" && !target.closest("a, button, summary")) {
      if (target === document.body || form.contains(target)) {
        event.preventDefault();
        form.requestSubmit(form.querySelector("button[value=next]"));
      }
    }
  });
})();
