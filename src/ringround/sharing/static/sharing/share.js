// The "Copy" share button: copies the message with the volunteer's link (or, where the
// browser will not, selects it for them to copy), and counts the share.
document.addEventListener("click", function (event) {
  var button = event.target.closest(".share-copy");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var box = button.parentNode.parentNode.querySelector(".share-text");
  var selectIt = function () { if (box) { box.focus(); box.select(); } button.textContent = "Selected: copy it"; };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; }, selectIt);
  } else {
    selectIt();
  }
  var token = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  fetch(button.getAttribute("data-count"), {
    method: "POST", credentials: "same-origin",
    headers: {"X-CSRFToken": token ? decodeURIComponent(token[1]) : ""},
  });
});
