// Small console behaviours. No inline handlers anywhere: the CSP forbids them.
(function () {
  "use strict";

  // Auto-submit selects marked data-autosubmit (the workspace switcher).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });

  // Copy buttons: <button data-copy="text">.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var text = button.getAttribute("data-copy") || "";
    var done = function () {
      var original = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = original; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* nothing to do */ }
      area.remove();
    }
  });

  // Confirmation for dangerous buttons: <button data-confirm="message">.
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var message = submitter && submitter.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation(); // capture phase: htmx's own submit handler never sees it
    }
  }, true);

  // Mark the conversation being opened, so the list shows where the agent is.
  document.addEventListener("click", function (event) {
    var item = event.target instanceof Element ? event.target.closest("a.conversation-item") : null;
    if (!item) return;
    document.querySelectorAll("a.conversation-item[aria-current='true']").forEach(function (a) {
      a.setAttribute("aria-current", "false");
    });
    item.setAttribute("aria-current", "true");
  });

  // Keyboard shortcuts in the inbox: j/k move, r replies.
  document.addEventListener("keydown", function (event) {
    var tag = event.target instanceof Element ? event.target.tagName : "";
    if (event.metaKey || event.ctrlKey || event.altKey || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var list = document.getElementById("conversation-list");
    if (!list) return;
    if (event.key === "j" || event.key === "k") {
      var items = Array.prototype.slice.call(list.querySelectorAll("a.conversation-item"));
      if (!items.length) return;
      var current = items.findIndex(function (a) { return a.getAttribute("aria-current") === "true"; });
      var next = event.key === "j" ? Math.min(items.length - 1, current + 1) : Math.max(0, current - 1);
      if (current === -1) next = 0;
      items[next].click();
      items[next].focus();
      event.preventDefault();
    } else if (event.key === "r") {
      var reply = document.getElementById("reply-body");
      if (reply) { reply.focus(); event.preventDefault(); }
    }
  });
})();
