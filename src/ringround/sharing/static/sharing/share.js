// The "Copy" share button: copies the message with the volunteer's link, and counts the share.
document.addEventListener("click", function (event) {
  var button = event.target.closest(".share-copy");
  if (!button) return;
  var text = button.getAttribute("data-copy");
  var done = function () { button.textContent = "Copied"; };
  if (navigator.clipboard) { navigator.clipboard.writeText(text).then(done, function () {}); }
  var token = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  fetch(button.getAttribute("data-count"), {
    method: "POST", credentials: "same-origin",
    headers: {"X-CSRFToken": token ? decodeURIComponent(token[1]) : ""},
  });
});
