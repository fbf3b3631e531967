// Live refresh of the dashboard: re-fetch the server-rendered fragment every 5 s. The page works
// without this script (it is the same HTML, rendered once); nothing else on the console uses JS.
(function () {
  "use strict";
  var box = document.getElementById("dashboard-live");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-fragment");
  function refresh() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { box.innerHTML = html; } })
      .catch(function () { /* keep the last data; the next tick tries again */ });
  }
  window.setInterval(refresh, 5000);
}());
