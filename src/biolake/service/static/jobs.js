// biolake jobs pages: while a job is queued or running, re-fetch the parts marked
// data-live (server-rendered HTML fragments) every 2 s. No inline script (CSP).
(function () {
  "use strict";
  function refresh() {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (el.getAttribute("data-active") !== "1") {
        return;
      }
      fetch(el.getAttribute("data-live"), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          return response.ok && !response.redirected ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && el.isConnected) {
            el.outerHTML = html;
          }
        })
        .catch(function () {});
    });
  }
  setInterval(refresh, 2000);
})();
