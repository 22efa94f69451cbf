/*! Promptify widget v1 -- vanilla JS, no build step, no dependencies.
 *
 * Install (the snippet from Settings > Messenger > Installation):
 *
 *   <script src="https://support.example.com/widget/v1/promptify.js" data-app-id="app_..." async></script>
 *
 * Calls made before this script has loaded are queued by this host-side stub, placed before the
 * snippet; each returns a Promise settled once the script has run it:
 *
 *   <script>
 *   window.promptify = window.promptify || (function (p) {
 *     ["setUser", "reset", "open", "close", "setTokenProvider"].forEach(function (m) {
 *       p[m] = function () {
 *         var a = [].slice.call(arguments);
 *         return new Promise(function (resolve, reject) { p.q.push([m, a, resolve, reject]); });
 *       };
 *     });
 *     return p;
 *   })({ q: [] });
 *   promptify.setUser({ id: "user-123", name: "Jane Doe" });
 *   </script>
 *
 * API: setUser(obj) -> Promise<contact> (rejects with {code, message, field}); reset() is
 * setUser({id: null}); open(); close(); setTokenProvider(async () => jwt): its tokens renew a
 * verified session before verifiedUntil and on session_expired (else: anonymous again).
 *
 * It talks to the server that served it. The session token is kept in the host page's cookie
 * promptify_session_<appId> (SameSite=Lax, Secure on https) and sent in the X-Promptify-Session
 * header (no third-party cookie). A host page's Content-Security-Policy must allow this server in
 * script-src and connect-src. Everything is drawn inside a shadow root. Reference:
 * docs/widget-api.md, "The widget script".
 */
(function () {
"use strict";
var w = window, d = document;
var stub = w.promptify;
if (stub && stub.loaded) return; // the snippet was pasted twice

var script = d.currentScript || d.querySelector('script[data-app-id][src*="promptify.js"]');
var appId = script && script.getAttribute("data-app-id");
if (!appId) {
  console.error('Promptify: add data-app-id="app_..." to the promptify.js <script> tag.');
  return;
}
var BASE = new URL(script.src, location.href).href.replace(/\/promptify\.js([?#].*)?$/, "");
var API = BASE + "/apps/" + encodeURIComponent(appId);
var HEALTH = BASE.replace(/\/widget\/v1$/, "") + "/healthz";
var COOKIE = "promptify_session_" + appId;
var POLL_MS = 4000; // the open panel
var IDLE_MS = 30000; // the closed panel: the list only, for the badge
var LEAD_MS = 60000; // renew this long before verifiedUntil (or a tenth of what is left)
var MIN_MS = 10000; // no renewals closer together: no tight loops
var MAX_BODY = 10000;
var noop = function () {};

var S = {
  session: readCookie(),
  contact: null, // the last contact identify returned
  epoch: 0, // bumped on every user change: late answers for an older epoch are dropped
  chain: Promise.resolve(), // identify calls run one at a time, in call order
  open: false,
  view: "list", // "list" | "thread"
  conv: null, // id of the conversation shown, null for a new one
  lastId: 0, // newest message id fetched from the server (for ?after=)
  toRead: false, // an agent's reply was shown, not yet reported read
  seen: {},
  convs: [], // the list as last fetched, each with its "unread" count
  etag: "", // its ETag, sent as If-None-Match
  listing: -1, // the epoch of the list request in flight
  listKey: "", // the conversation list as last drawn
  timer: 0,
  sending: false,
  provider: null,
  until: 0, // verifiedUntil in ms, 0 when not verified
  renewTimer: 0,
  renewing: null, // the provider call in flight
  recovering: null, // the answer to session_expired in flight
  recoveredAt: 0,
  recoveries: 0,
  mergedFrom: null // the anonymous session the last sign-in absorbed
};
var ui = null;
var ready = new Promise(function (resolve) {
  if (d.body) resolve();
  else d.addEventListener("DOMContentLoaded", function () { resolve(); });
});

// --- cookie and transport ---

function readCookie() {
  var parts = d.cookie ? d.cookie.split("; ") : [];
  for (var i = 0; i < parts.length; i++) {
    var at = parts[i].indexOf("=");
    if (parts[i].slice(0, at) === COOKIE) {
      try { return decodeURIComponent(parts[i].slice(at + 1)) || null; } catch (e) { return null; }
    }
  }
  return null;
}

function storeSession(token) {
  S.session = token || null;
  var attrs = "; path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  d.cookie = COOKIE + "=" + (token ? encodeURIComponent(token) + "; max-age=31536000" : "; max-age=0") + attrs;
}

function apiError(code, message, field) {
  return { code: code, message: message, field: field || null };
}

function pageUrl() {
  var url = location.href.split("#")[0]; // fragments may carry tokens (OAuth): never sent
  return /^https?:\/\//.test(url) && url.length <= 2048 ? url : null;
}

function call(method, path, body, etag) {
  var headers = {};
  if (S.session) headers["X-Promptify-Session"] = S.session;
  if (etag) headers["If-None-Match"] = etag;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    var url = pageUrl();
    if (url) headers["X-Promptify-Page-Url"] = url;
  }
  return fetch(API + path, {
    method: method,
    headers: headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    mode: "cors",
    credentials: "omit",
    cache: "no-store"
  }).then(function (response) {
    if (response.status === 204 || response.status === 304) return {}; // read; the list unchanged
    return response.json().catch(function () { return null; }).then(function (data) {
      if (response.ok && data) {
        data.etag = response.headers.get("ETag");
        return data;
      }
      var e = data && data.error;
      if (e && e.code) throw apiError(e.code, e.message || e.code, e.field);
      throw apiError("http_" + response.status, "The Promptify server answered HTTP " + response.status + ".");
    });
  }, function () {
    return diagnose().then(function (err) { throw err; });
  });
}

// fetch fails alike when the network is down and when CORS refuses the answer (a disallowed
// origin gets no CORS headers); a no-cors request to the health check tells the two apart.
function diagnose() {
  var o = location.origin;
  return fetch(HEALTH, { mode: "no-cors", cache: "no-store" }).then(function () {
    return apiError("origin_not_allowed", "The server at " + BASE + " is up but refused this page's origin " + o +
      ": add it under Settings \u203a Messenger \u203a Installation \u203a Allowed origins, or check data-app-id.");
  }, function () {
    return apiError("network_error", "Could not reach the server at " + BASE +
      " (offline, down, or not in this page's CSP connect-src).");
  });
}

// A conversation call, retried once when its session was renewed or merged.
function talk(method, path, body, etag) {
  var epoch = S.epoch, sent = S.session, n = S.recoveries;
  var again = function () { return call(method, path, body, etag); };
  return again().catch(function (err) {
    if (err.code === "session_required" && sent) {
      return S.chain.then(function () { // the sign-in that merged it may still be answering
        if (sent === S.mergedFrom && S.session && S.session !== sent) return again();
        err.stale = epoch !== S.epoch; // about a previous user: act on nothing
        throw err;
      });
    }
    if (epoch !== S.epoch) { err.stale = 1; throw err; }
    if (err.code === "session_expired") {
      // sent before the last recovery: just retry
      return (n === S.recoveries ? recover() : Promise.resolve()).then(function () {
        if (epoch !== S.epoch) throw err; // the user changed: never replay their call
        return again();
      });
    }
    throw err;
  });
}

// --- identification ---

function enqueue(task) {
  var run = S.chain.then(task);
  S.chain = run.then(noop, noop);
  return run;
}

function claimedId(obj) {
  var claims = obj;
  if (typeof obj.jwt === "string") {
    try {
      var part = obj.jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var bytes = Uint8Array.from(atob(part + "===".slice((part.length + 3) % 4)), function (c) {
        return c.charCodeAt(0);
      });
      claims = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      return undefined;
    }
  }
  return claims.id === null || claims.id === undefined ? null : String(claims.id);
}

function sameUser(obj) {
  var c = S.contact, id = claimedId(obj);
  if (!c || id === undefined) return false;
  return id === null ? c.anonymous : !c.anonymous && c.id === id;
}

function identify(obj, renewal) {
  return call("POST", "/identify", obj).then(function (data) {
    // another session is another contact (merge, switch, logout): draw nothing of the old one
    var changed = S.session !== null && data.session !== S.session;
    var merge = changed && !(S.contact && !S.contact.anonymous) && !data.contact.anonymous;
    S.mergedFrom = merge ? S.session : null;
    storeSession(data.session); // the returned session always replaces the stored one
    S.contact = data.contact;
    S.until = (data.verifiedUntil && Date.parse(data.verifiedUntil)) || 0;
    if (changed) wipe();
    planRenewal(renewal);
    return data.contact;
  });
}

function report(err) {
  console.error(
    "Promptify: setUser rejected (" + err.code + (err.field ? " at " + err.field : "") + "): " + err.message
  );
}

function setUser(obj, renewal) {
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) {
    var bad = apiError("invalid_json", 'setUser() takes an object, such as {id: null} or {jwt: "..."}.');
    report(bad);
    return Promise.reject(bad);
  }
  var switching = !sameUser(obj);
  if (switching) wipe(); // nothing of the previous user stays on screen while we ask
  return enqueue(function () { return identify(obj, renewal); }).then(function (contact) {
    refresh(); // closed: the badge is this visitor's
    return contact;
  }, function (err) {
    report(err);
    if (switching) {
      // the host said "someone else now": never fall back to the previous user's session
      forget();
      wipe();
      refresh();
    }
    throw err;
  });
}

function forget() {
  storeSession(null);
  S.contact = null;
  S.until = 0;
  planRenewal();
}

function ensureSession() {
  // if setUser was never called, the visitor is identified anonymously on first use
  return enqueue(function () { return S.session ? null : identify({ id: null }); });
}

// --- keeping a verified session verified ---

function setTokenProvider(fn) {
  if (fn !== null && typeof fn !== "function") {
    var bad = apiError("invalid_field", "setTokenProvider() takes a function (async () => jwt) or null.");
    console.error("Promptify: " + bad.message);
    return Promise.reject(bad);
  }
  S.provider = fn;
  planRenewal();
  return Promise.resolve();
}

function iso(ms) {
  return new Date(ms).toISOString();
}

// verifiedUntil (server time) is compared with this browser's clock.
function planRenewal(renewal) {
  clearTimeout(S.renewTimer);
  S.renewTimer = 0;
  if (!S.provider || !S.until) return;
  var left = S.until - Date.now();
  var wait = left - Math.min(LEAD_MS, left / 10);
  if (renewal && wait < MIN_MS) return; // not extended (skewed clock?): renew on session_expired
  S.renewTimer = setTimeout(renewAhead, Math.min(Math.max(wait, MIN_MS), 0x7fffffff)); // longer: fires at once
}

function renewAhead() {
  S.renewTimer = 0;
  var until = S.until;
  renew().catch(function (why) {
    console.warn("Promptify: could not renew the verified session before " + iso(until) + ": " + why +
      "; it is tried again when it expires.");
  });
}

// setUser({jwt}) with the provider's token, on the same session (which keeps its token).
function renew() {
  if (S.renewing) return S.renewing; // at most one provider call in flight
  var epoch = S.epoch, provider = S.provider;
  var done = function () { S.renewing = null; };
  S.renewing = new Promise(function (resolve) { resolve(provider()); }).then(function (jwt) {
    if (typeof jwt !== "string" || !jwt) {
      throw "the token provider returned " + (jwt === "" ? "an empty string" : typeof jwt) + ", not a JWT";
    }
    if (epoch !== S.epoch) return; // the host changed the user meanwhile: its own call stands
    return setUser({ jwt: jwt }, true).catch(function (err) {
      throw "setUser({jwt}) with the provider's token was rejected (" + err.code + ")";
    });
  }, function (e) {
    throw "the token provider failed (" + ((e && e.message) || e) + ")";
  });
  S.renewing.then(done, done);
  return S.renewing;
}

// session_expired: renew through the provider, else fall back to an anonymous visitor (as reset()).
function recover() {
  if (S.recovering) return S.recovering;
  var epoch = S.epoch, until = S.until, provider = S.provider;
  var cause = !until ? "lapsed or ended by the server" : Date.now() >= until
    ? "verifiedUntil " + iso(until) + " passed" : "ended by the server, e.g. its key was revoked";
  var again = Date.now() - S.recoveredAt < MIN_MS; // renewed moments ago, yet expired again
  var renewal = provider && !again ? renew() : Promise.reject(provider ? "it expired again at once" : "");
  S.recovering = renewal.then(function () {
    S.recoveredAt = Date.now();
    S.recoveries++;
  }, function (why) {
    if (epoch !== S.epoch) return; // the host changed the user meanwhile
    console.warn("Promptify: this visitor's verified session expired (" + cause + ")" +
      (why ? " and could not be renewed: " + why : "") + "; the visitor is anonymous now. " +
      (provider ? "Check the function given to promptify.setTokenProvider()."
        : "Register promptify.setTokenProvider(async () => jwt) to renew it without a reload."));
    return setUser({ id: null }).catch(noop);
  }).then(function () { S.recovering = null; });
  return S.recovering;
}

// --- state changes ---

function goTo(view, id) {
  S.view = view;
  S.conv = id;
  S.lastId = 0;
  S.toRead = false;
  S.seen = {};
  S.listKey = "";
}

function wipe() {
  S.epoch++;
  goTo("list", null);
  S.convs = [];
  S.etag = "";
  stopPolling();
  if (!ui) return;
  var hadFocus = !!ui.root.activeElement;
  clear(ui.list);
  clear(ui.log);
  ui.empty.hidden = true;
  ui.input.value = "";
  setStatus("");
  show();
  badge();
  if (hadFocus && S.open) ui.newButton.focus(); // the focused thread may just have been hidden
}

function stopPolling() {
  clearTimeout(S.timer);
  S.timer = 0;
}

function schedule() {
  stopPolling();
  if (S.open || S.session) S.timer = setTimeout(poll, S.open ? POLL_MS : IDLE_MS);
}

function poll() {
  S.timer = 0;
  if (!d.hidden) refresh(); // hidden: stopped until visibilitychange
}

// Open: the list or the thread shown. Closed: the list, for the badge, if there is a session.
function refresh(retried) {
  return (S.open ? ensureSession() : S.chain).then(function () {
    var epoch = S.epoch;
    if (S.open && S.view === "thread") return S.conv && loadThread(epoch);
    if (S.session) return loadList(epoch);
  }).then(schedule, function (err) {
    if (err.stale || err.code === "session_expired") return schedule(); // dealt with by talk()
    if (err.code === "session_required" && !retried) {
      forget(); // unknown or idle too long: start over as a new visitor
      wipe();
      return refresh(true);
    }
    if (err.code === "not_found" && S.view === "thread") {
      back();
      return;
    }
    console.error("Promptify: " + err.code + ": " + err.message);
    setStatus(err.code === "network_error"
      ? "Cannot reach support right now; retrying\u2026"
      : "Support chat is unavailable right now.");
    schedule();
  });
}

function loadList(epoch) {
  if (S.listing === epoch) return; // the answer in flight will do
  S.listing = epoch;
  return talk("GET", "/conversations", undefined, S.etag).finally(function () {
    if (S.listing === epoch) S.listing = -1;
  }).then(function (data) {
    if (epoch !== S.epoch) return;
    if (data.conversations) { // else 304: unchanged
      S.convs = data.conversations;
      S.etag = data.etag;
    }
    badge();
    if (S.view !== "list" || !ui) return;
    setStatus("");
    renderList(S.convs);
  });
}

function loadThread(epoch) {
  var conv = S.conv;
  var query = S.lastId ? "?after=" + S.lastId : "";
  return talk("GET", "/conversations/" + conv + "/messages" + query).then(function (data) {
    if (epoch !== S.epoch || conv !== S.conv || !ui) return;
    setStatus("");
    (data.messages || []).forEach(function (m) {
      addMessage(m);
      if (m.id > S.lastId) S.lastId = m.id;
      if (m.author === "agent") S.toRead = true;
    });
    markRead();
  });
}

// Agent replies shown on screen stop counting as unread.
function markRead() {
  var conv = S.conv;
  if (!S.toRead || !S.open || d.hidden || S.view !== "thread") return;
  S.toRead = false;
  talk("POST", "/conversations/" + conv + "/read", { lastMessageId: S.lastId }).then(function () {
    S.convs.forEach(function (c) { if (c.id === conv) c.unread = 0; });
    badge();
  }, function () {
    if (conv === S.conv) S.toRead = true; // again after the next poll
  });
}

function openThread(id) { // null: a new conversation
  goTo("thread", id);
  clear(ui.log);
  show();
  ui.input.focus();
  refresh();
}

function back() {
  goTo("list", null);
  clear(ui.log);
  show();
  ui.newButton.focus();
  refresh();
}

function send(event) {
  if (event) event.preventDefault();
  var text = ui.input.value;
  if (S.sending || !text.trim()) return;
  if (text.length > MAX_BODY) {
    setStatus("Messages are limited to 10,000 characters.");
    return;
  }
  S.sending = true;
  ui.send.setAttribute("aria-disabled", "true"); // not .disabled: that would drop the focus
  setStatus("");
  var epoch = null;
  ensureSession().then(function () {
    epoch = S.epoch;
    return talk("POST", S.conv ? "/conversations/" + S.conv + "/messages" : "/conversations", { body: text });
  }).then(function (data) {
    if (epoch !== S.epoch) return;
    if (data.conversation) {
      S.conv = data.conversation.id;
      S.lastId = data.message.id; // nothing can precede the first message
      show();
    }
    if (ui.input.value === text) ui.input.value = "";
    addMessage(data.message); // the next poll (?after=lastId) fills any agent reply in between
  }, function (err) {
    if (epoch !== null && epoch !== S.epoch) return;
    if (err.code === "session_required") forget();
    setStatus("Message not sent: " + err.message);
  }).then(function () {
    S.sending = false;
    ui.send.removeAttribute("aria-disabled");
    schedule();
  });
}

// --- rendering (textContent only: data is never parsed as HTML) ---

function el(tag, className, text, attrs) {
  var node = d.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (var name in attrs) node.setAttribute(name, attrs[name]);
  return node;
}

function add(parent) { // appends the other arguments
  for (var i = 1; i < arguments.length; i++) parent.appendChild(arguments[i]);
  return parent;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function setStatus(text) {
  if (!ui) return;
  ui.status.textContent = text;
  ui.status.hidden = !text;
}

function when(iso) {
  var t = new Date(iso);
  if (isNaN(t.getTime())) return "";
  var today = new Date().toDateString() === t.toDateString();
  return t.toLocaleString([], today ? { hour: "2-digit", minute: "2-digit" } : { month: "short", day: "numeric" });
}

function renderList(conversations) {
  var key = JSON.stringify(conversations);
  if (key === S.listKey) return; // polling must not rebuild the list under a keyboard user
  S.listKey = key;
  var focused = ui.root.activeElement;
  var focusedId = focused && focused.getAttribute("data-id");
  clear(ui.list);
  ui.empty.hidden = conversations.length > 0;
  conversations.forEach(function (c) {
    var button = el("button", "conv", null, { type: "button", "data-id": c.id });
    add(button, add(el("span", "row"), el("span", "preview", c.preview || "(no text)"),
      el("span", "time", when(c.lastMessageAt))));
    if (c.unread) add(button, el("span", "badge unread", c.unread + " new"));
    if (c.status === "closed") add(button, el("span", "badge", "Closed"));
    button.addEventListener("click", function () { openThread(c.id); });
    add(ui.list, add(el("li"), button));
    if (String(c.id) === focusedId) button.focus();
  });
}

function addMessage(m) {
  if (!m || S.seen[m.id]) return;
  S.seen[m.id] = true;
  var mine = m.author === "contact";
  var item = add(el("li", mine ? "msg mine" : "msg", null, { "data-id": m.id }),
    add(el("div", "meta"), el("span", "who", mine ? "You" : m.authorName || "Support"),
      el("span", "time", when(m.createdAt))),
    el("div", "text", m.body));
  var log = ui.log;
  var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  var after = log.lastChild; // keep id order even when a post's answer overtakes a poll
  while (after && Number(after.getAttribute("data-id")) > m.id) after = after.previousSibling;
  log.insertBefore(item, after ? after.nextSibling : log.firstChild);
  if (atBottom || mine) log.scrollTop = log.scrollHeight;
}

// The launcher's badge: unread agent replies over the listed conversations.
function badge() {
  if (!ui) return;
  var n = 0;
  S.convs.forEach(function (c) { n += c.unread || 0; });
  ui.count.textContent = n > 99 ? "99+" : n;
  ui.count.hidden = !n;
  ui.launcher.setAttribute("aria-label", S.open ? "Close support chat"
    : "Open support chat" + (n ? ", " + n + (n > 1 ? " unread replies" : " unread reply") : ""));
}

function show() {
  if (!ui) return;
  var thread = S.view === "thread";
  ui.listView.hidden = thread;
  ui.threadView.hidden = !thread;
  ui.back.hidden = !thread;
  ui.title.textContent = thread ? (S.conv ? "Conversation" : "New conversation") : "Messages";
}

var CSS = [
  ":host{all:initial !important;position:fixed !important;right:20px !important;bottom:20px !important;",
  "z-index:2147483000 !important;display:block !important}",
  "*{box-sizing:border-box}[hidden]{display:none !important}",
  ".w{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;",
  "text-align:left;direction:ltr}",
  "button{font:inherit;cursor:pointer}",
  "button:focus-visible,textarea:focus-visible{outline:2px solid #f59e0b;outline-offset:2px}",
  ".launcher{position:relative;display:flex;align-items:center;justify-content:center;width:56px;height:56px;",
  "margin:0;padding:0;border:0;border-radius:50%;background:#2457d6;color:#fff;box-shadow:0 4px 14px #0004}",
  ".count{position:absolute;top:-4px;right:-4px;min-width:20px;padding:0 6px;border-radius:10px;",
  "background:#d1242f;color:#fff;font-size:12px;font-weight:700;line-height:20px;text-align:center}",
  ".launcher:hover{background:#1d47b0}.launcher svg{width:26px;height:26px;fill:currentColor}",
  ".panel{position:absolute;right:0;bottom:68px;display:flex;flex-direction:column;",
  "width:min(370px,calc(100vw - 24px));height:min(560px,calc(100vh - 110px));overflow:hidden;",
  "background:#fff;border-radius:14px;box-shadow:0 12px 40px #0005}",
  ".head{display:flex;align-items:center;gap:6px;padding:10px 12px;background:#2457d6;color:#fff}",
  ".head h2{flex:1;margin:0 4px;font-size:16px;font-weight:600;color:#fff}",
  ".icon{width:32px;height:32px;margin:0;padding:0;border:0;border-radius:8px;background:transparent;",
  "color:#fff;font-size:20px;line-height:32px;text-align:center}.icon:hover{background:#fff3}",
  ".status{margin:0;padding:8px 12px;background:#fdecea;color:#8a1c12;font-size:13px}",
  ".view{flex:1;display:flex;flex-direction:column;min-height:0}",
  ".scroll{flex:1;overflow-y:auto;margin:0;padding:12px;list-style:none}",
  ".new{display:block;width:calc(100% - 24px);margin:12px 12px 0;padding:10px;border:1px solid #2457d6;",
  "border-radius:8px;background:#fff;color:#2457d6;font-weight:600}.new:hover{background:#eef3ff}",
  ".empty{margin:24px 12px;color:#5b6470;text-align:center}",
  ".conv{display:block;width:100%;margin:0 0 8px;padding:10px 12px;border:1px solid #e3e6ea;",
  "border-radius:10px;background:#fff;color:#1f2328;text-align:left}.conv:hover{background:#f6f8fa}",
  ".row{display:flex;gap:8px;align-items:baseline}",
  ".preview{flex:1;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}",
  ".time{flex:none;color:#5b6470;font-size:12px}",
  ".badge{display:inline-block;margin-top:4px;padding:0 6px;border-radius:6px;background:#eef0f2;",
  "color:#444c56;font-size:12px}.unread{margin-right:6px;background:#d1242f;color:#fff}",
  ".msg{max-width:85%;margin:0 0 10px;padding:8px 10px;border-radius:12px;background:#f1f3f5}",
  ".msg.mine{margin-left:auto;background:#2457d6;color:#fff}.msg.mine .time{color:#dbe4ff}",
  ".meta{display:flex;gap:8px;justify-content:space-between;font-size:12px;font-weight:600;margin-bottom:2px}",
  ".text{white-space:pre-wrap;overflow-wrap:anywhere}",
  ".composer{display:flex;gap:8px;padding:10px;border-top:1px solid #e3e6ea}",
  ".composer textarea{flex:1;min-height:40px;max-height:120px;margin:0;padding:8px;resize:vertical;",
  "border:1px solid #c9ced4;border-radius:8px;background:#fff;color:#1f2328;font:inherit}",
  ".send{padding:0 14px;border:0;border-radius:8px;background:#2457d6;color:#fff;font-weight:600}",
  ".send[aria-disabled=true]{opacity:.6;cursor:default}"
].join("");

function styleInto(root) {
  try {
    var sheet = new CSSStyleSheet(); // constructed sheets also work under a strict host CSP
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    root.appendChild(el("style", null, CSS));
  }
}

function chatIcon() {
  var ns = "http://www.w3.org/2000/svg";
  var svg = d.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  var path = d.createElementNS(ns, "path");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
  return add(svg, path);
}

function button(className, label, text) {
  return el("button", className, text, { type: "button", "aria-label": label });
}

function mount() {
  if (ui) return;
  var host = el("div", null, null, { "data-promptify": appId });
  var root = host.attachShadow({ mode: "open" }); // open so tests and assistive tools can reach it
  styleInto(root);
  ui = {
    root: root,
    back: button("icon back", "Back to conversations", "\u2190"),
    title: el("h2", null, "Messages"),
    close: button("icon close", "Close chat", "\u00d7"),
    status: el("p", "status", null, { role: "alert", hidden: "" }),
    newButton: button("new", "Start a new conversation", "New conversation"),
    empty: el("p", "empty", "No conversations yet. Start one and we will reply here.", { hidden: "" }),
    list: el("ul", "scroll conversations", null, { "aria-label": "Your conversations" }),
    log: el("ol", "scroll messages", null, { role: "log", "aria-live": "polite", "aria-label": "Messages" }),
    input: el("textarea", null, null,
      { rows: 2, maxlength: MAX_BODY, placeholder: "Write a message\u2026", "aria-label": "Message" }),
    send: el("button", "send", "Send", { type: "submit", "aria-label": "Send message" }),
    count: el("span", "count"),
    launcher: el("button", "launcher", null, { type: "button", "aria-label": "Open support chat",
      "aria-expanded": "false", "aria-controls": "promptify-panel" })
  };
  var form = add(el("form", "composer"), ui.input, ui.send);
  ui.listView = add(el("div", "view list-view"), ui.newButton, ui.empty, ui.list);
  ui.threadView = add(el("div", "view thread-view", null, { hidden: "" }), ui.log, form);
  ui.panel = add(el("div", "panel", null,
    { id: "promptify-panel", role: "dialog", "aria-label": "Support chat", hidden: "" }),
    add(el("div", "head"), ui.back, ui.title, ui.close), ui.status, ui.listView, ui.threadView);
  var wrap = add(el("div", "w"), ui.panel, add(ui.launcher, chatIcon(), ui.count));
  add(root, wrap);

  ui.launcher.addEventListener("click", function () { (S.open ? closePanel : openPanel)(); });
  ui.close.addEventListener("click", function () { closePanel(); });
  ui.back.addEventListener("click", back);
  ui.newButton.addEventListener("click", function () { openThread(null); });
  form.addEventListener("submit", send);
  ui.input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
  });
  wrap.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && S.open) {
      e.stopPropagation();
      closePanel();
    }
  });
  show();
  badge();
  (d.body || d.documentElement).appendChild(host);
}

function setOpen(open) {
  return ready.then(function () {
    mount();
    var hadFocus = !!ui.root.activeElement;
    S.open = open;
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    badge();
    if (open) {
      (S.view === "thread" ? ui.input : ui.newButton).focus();
      return refresh();
    }
    schedule(); // closed: the list every 30 s, for the badge
    if (hadFocus) ui.launcher.focus(); // focus never gets lost inside a hidden panel
  }).then(noop);
}

function openPanel() { return setOpen(true); }

function closePanel() { return setOpen(false); }

// --- the public object and the queue of early calls ---

function run(item) {
  if (!item) return;
  var method = api[item[0]];
  var result = typeof method === "function"
    ? method.apply(null, item[1] || [])
    : Promise.reject(apiError("unknown_method", "promptify has no method " + item[0] + "."));
  if (typeof item[2] === "function") result.then(item[2], item[3] || noop);
  else result.catch(noop);
}

var api = {
  loaded: true,
  version: "1",
  setUser: function (obj) { return setUser(obj); },
  reset: function () { return setUser({ id: null }); },
  open: openPanel,
  close: closePanel,
  setTokenProvider: setTokenProvider,
  q: { push: run } // a host that pushes onto promptify.q after load runs the call at once
};
var queued = stub && stub.q && typeof stub.q.length === "number" ? Array.prototype.slice.call(stub.q) : [];
w.promptify = api;
ready.then(mount);
queued.forEach(run);
d.addEventListener("visibilitychange", function () { (d.hidden ? stopPolling : refresh)(); });
poll(); // with a session: the badge at once
})();
