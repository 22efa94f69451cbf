// Profile page: propose the browser's time zone for the time zone field.
// No inline handlers anywhere: the CSP forbids them. Without JavaScript the button stays hidden.
(function () {
  "use strict";

  function browserTimeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  // Show the buttons (and what the browser's zone is) in `root`: the page, or a swapped-in section.
  function reveal(root) {
    var zone = browserTimeZone();
    if (!zone || !(root instanceof Element || root instanceof Document)) return;
    root.querySelectorAll("[data-browser-time-zone]").forEach(function (button) {
      button.hidden = false;
    });
    root.querySelectorAll("[data-browser-time-zone-note]").forEach(function (note) {
      note.textContent = "Your browser is set to " + zone + ".";
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-browser-time-zone]") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-browser-time-zone") || "");
    var zone = browserTimeZone();
    if (!(field instanceof HTMLInputElement) || !zone) return;
    field.value = zone;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });

  document.addEventListener("htmx:load", function (event) {
    reveal(event.detail && event.detail.elt ? event.detail.elt : document);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  } else {
    reveal(document);
  }
})();
