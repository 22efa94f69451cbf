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
  // Ctrl/Cmd+Enter sends the reply or the note: forms marked data-send-shortcut.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
    var field = event.target instanceof HTMLTextAreaElement ? event.target : null;
    var form = field && field.form;
    if (!form || !form.hasAttribute("data-send-shortcut")) return;
    event.preventDefault();
    form.requestSubmit();
  });

  // --- attention: unread count, tab title, desktop notifications ---------------------------

  var badge = document.getElementById("nav-unread");
  var POLL_MS = 10000;
  var CHOICE = "promptify.notifications"; // localStorage: "on" (enabled here) or "dismissed"
  var baseTitle = document.title.replace(/^\(\d+\+?\) /, "");
  var cursor = null;
  var polling = null;
  var again = false;
  var timer = null;

  function stored() {
    try { return window.localStorage.getItem(CHOICE); } catch (e) { return null; }
  }

  function store(value) {
    try { window.localStorage.setItem(CHOICE, value); } catch (e) { /* private mode: ask again next time */ }
  }

  function notificationsOn() {
    return "Notification" in window && Notification.permission === "granted" && stored() === "on";
  }

  // The banner shows while this browser can still be asked, until the operator answers.
  function updateBanner() {
    var banner = document.getElementById("notify-banner");
    if (!banner) return;
    var supported = "Notification" in window;
    banner.hidden = !supported || Notification.permission === "denied" || notificationsOn() || stored() === "dismissed";
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    if (target.closest("[data-enable-notifications]") && "Notification" in window) {
      // Only here, in the click: browsers ignore or block permission requests made without one.
      var answered = function (answer) {
        if (answer === "granted") store("on");
        else if (answer === "denied") store("dismissed");
        updateBanner();
      };
      var asked = Notification.requestPermission(answered); // older Safari: a callback only
      if (asked && asked.then) asked.then(answered);
    } else if (target.closest("[data-dismiss-notifications]")) {
      store("dismissed");
      updateBanner();
    }
  });

  function showCount(data) {
    if (!badge) return;
    badge.setAttribute("data-unread", String(data.unread));
    badge.hidden = !data.unread;
    var number = badge.querySelector(".nav-count-number");
    if (number) number.textContent = data.unreadLabel;
    document.title = (data.unread ? "(" + data.unreadLabel + ") " : "") + baseTitle;
  }

  function openConversation(url) {
    var item = document.querySelector('a.conversation-item[href="' + url + '"]');
    if (item && window.htmx) item.click(); // in the inbox: swapped in, the URL pushed
    else window.location.assign(url);
  }

  function notify(latest) {
    if (!latest || !notificationsOn() || document.visibilityState === "visible") return;
    var title = (latest.newConversation ? "New conversation from " : "New message from ") + latest.contact;
    var body = latest.preview + (latest.others ? " (and " + latest.others + " more)" : "");
    try {
      // one tag per message: several console tabs show it once
      var shown = new Notification(title, { body: body, tag: "promptify-message-" + latest.messageId });
      shown.onclick = function () {
        window.focus();
        openConversation(latest.url);
        shown.close();
      };
    } catch (e) { /* a browser that allows notifications only from a service worker */ }
  }

  function poll() {
    if (!badge) return;
    if (polling) { again = true; return; } // once this one is back: it may predate a change
    var url = badge.getAttribute("data-attention-url") + (cursor === null ? "" : "?after=" + cursor);
    polling = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) { stop(); return null; } // signed out elsewhere
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        showCount(data);
        if (cursor !== null) notify(data.latest);
        cursor = data.cursor;
      })
      .catch(function () { /* offline for a moment: the next poll catches up */ })
      .then(function () {
        polling = null;
        if (again) { again = false; poll(); }
      });
  }

  function stop() {
    if (timer) window.clearInterval(timer);
    timer = null;
    badge = null;
  }

  if (badge) {
    poll();
    timer = window.setInterval(poll, POLL_MS);
  }
  updateBanner();

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    updateBanner();
    poll();
    // the open thread polls at once: what arrived meanwhile is seen now
    if (window.htmx) window.htmx.trigger(document.body, "console-visible");
  });

  // Reads moved the count: after opening a conversation, and when the thread saw new messages.
  document.body.addEventListener("conversation-updated", function () { window.setTimeout(poll, 0); });

  // The open thread's poll counts new visitor messages as read only while the tab is visible.
  document.body.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-Promptify-Visible"] = document.visibilityState === "visible" ? "1" : "0";
  });

  // Notes, assignments and status changes re-render the thread: keep the drafts of the other form.
  var drafts = null;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "conversation-view") return;
    var view = target.querySelector(".conversation");
    var source = event.detail.requestConfig && event.detail.requestConfig.elt;
    drafts = { id: view && view.getAttribute("data-conversation-id"), fields: {} };
    ["reply-body", "note-body"].forEach(function (id) {
      var field = document.getElementById(id);
      if (field && field.value && !(source && source.contains(field))) drafts.fields[id] = field.value;
    });
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "conversation-view" || !drafts) return;
    var view = target.querySelector(".conversation");
    if (view && view.getAttribute("data-conversation-id") === drafts.id) {
      Object.keys(drafts.fields).forEach(function (id) {
        var field = document.getElementById(id);
        if (field && !field.value) field.value = drafts.fields[id];
      });
    }
    drafts = null;
  });
})();
