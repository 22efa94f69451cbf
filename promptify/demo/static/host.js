// The host app's own code: it decides who the user is and tells the widget.
// The stub queues calls made before promptify.js has loaded (see the Installation page).
window.promptify = window.promptify || (function (p) {
  ["setUser", "reset", "open", "close", "setTokenProvider"].forEach(function (m) {
    p[m] = function () {
      var a = [].slice.call(arguments);
      return new Promise(function (resolve, reject) { p.q.push([m, a, resolve, reject]); });
    };
  });
  return p;
})({ q: [] });

(function () {
  "use strict";
  var out = document.getElementById("result");
  var renewals = document.getElementById("renewals");
  function show(label, promise) {
    promise.then(function (contact) { out.textContent = label + " → " + JSON.stringify(contact, null, 2); },
                 function (error) { out.textContent = label + " rejected → " + JSON.stringify(error, null, 2); });
  }
  function token(id) {
    return fetch("/token?id=" + encodeURIComponent(id)).then(function (r) {
      if (!r.ok) throw new Error("GET /token answered HTTP " + r.status);
      return r.text();
    });
  }
  function signed(id) {
    // The widget asks for a fresh token shortly before the verified session lapses (and when the
    // server says it expired, e.g. after a key revocation), so it stays verified without a reload.
    window.promptify.setTokenProvider(function () {
      renewals.textContent = "Token provider called at " + new Date().toLocaleTimeString() + " for " + id + ".";
      return token(id);
    });
    renewals.textContent = "Token provider registered for " + id + ".";
    token(id).then(function (jwt) { show("setUser({jwt})", window.promptify.setUser({ jwt: jwt })); });
  }
  function unsigned() {
    // Nobody signed in with a token: nothing to renew.
    window.promptify.setTokenProvider(null);
    renewals.textContent = "No token provider registered.";
  }
  document.getElementById("anonymous").addEventListener("click", function () {
    unsigned();
    show("setUser({id: null})", window.promptify.setUser({ id: null }));
  });
  document.getElementById("unsigned").addEventListener("click", function () {
    unsigned();
    show("setUser(unsigned)", window.promptify.setUser({ id: "jane-unsigned", email: "jane@example.com",
      name: "Jane Doe", attrs: { plan: "pro", active: true },
      organizations: [{ id: "org-456", name: "Acme Corp", attrs: { industry: "SaaS" } }] }));
  });
  document.getElementById("signed").addEventListener("click", function () { signed("user-123"); });
  document.getElementById("switch").addEventListener("click", function () { signed("user-456"); });
  document.getElementById("reset").addEventListener("click", function () {
    unsigned();
    show("reset()", window.promptify.reset());
  });
})();
