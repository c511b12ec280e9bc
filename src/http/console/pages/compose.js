// The composer's live recipient count: a progressive enhancement of the Preview button. When
// the form changes, it posts the same form to the same preview route the button uses (with the
// session's CSRF token, from this origin) and shows the answer's preview in place. Without this
// script the Preview button does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("composer");
  var live = document.getElementById("live-preview");
  if (!form || !live || !window.fetch || !window.DOMParser) {
    return;
  }
  var timer = null;
  var sent = 0;
  function refresh() {
    var asked = ++sent;
    var body = new URLSearchParams(new FormData(form));
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (asked !== sent) {
          return; // a newer change is on its way
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("live-preview");
        // A form that does not validate yet (no text, no office) keeps the last count.
        if (fresh && fresh.querySelector("#preview")) {
          live.innerHTML = fresh.innerHTML;
          live.setAttribute("data-live", String(asked));
        }
      })
      .catch(function () { /* the Preview button still works */ });
  }
  function changed() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
})();
