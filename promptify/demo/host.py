"""The demo's host page: a stand-in for a customer's web app on another origin.

It embeds the widget exactly as the Installation page shows, and plays the customer's server by
signing identity tokens with the demo's private key (`/token`), so the whole flow can be tried.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, abort, render_template_string, request
from joserfc import jwt
from joserfc.jwk import OKPKey

from promptify.identity.tokens import jws_registry

HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Acme App — Promptify demo host page</title>
  <link rel="stylesheet" href="/host.css">
</head>
<body>
  <header><strong>Acme App</strong> <span>a customer's web app on {{ request.host_url }}</span></header>
  <main>
    <h1>Try user identification</h1>
    <p>Each button calls <code>promptify.setUser(...)</code> the way a host app would. Open the chat
       (bottom right), write, then switch users: the widget never shows one user's conversations to another.</p>
    <div class="buttons">
      <button id="anonymous">Anonymous visitor <code>{id: null}</code></button>
      <button id="unsigned">Identify unsigned (Jane)</button>
      <button id="signed">Identify with a signed JWT (Jane, verified)</button>
      <button id="switch">Switch user (signed JWT, Max)</button>
      <button id="reset">Reset <code>promptify.reset()</code></button>
    </div>
    <pre id="result" aria-live="polite">Nothing called yet.</pre>
    <p id="renewals">No token provider registered.</p>
  </main>
  <script src="/host.js"></script>
  <script src="{{ widget_base }}/widget/v1/promptify.js" data-app-id="{{ app_id }}"></script>
</body>
</html>
"""

HOST_JS = """// The host app's own code: it decides who the user is and tells the widget.
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
"""

HOST_CSS = """body { font-family: Georgia, serif; margin: 0; background: #fbf7f0; color: #2b2118; }
header { background: #2b2118; color: #fbf7f0; padding: .8rem 1.2rem; display: flex; gap: 1rem; align-items: baseline; }
header span { opacity: .7; font-size: .9rem; }
main { max-width: 760px; margin: 2rem auto; padding: 0 1rem; }
.buttons { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1.2rem 0; }
button { all: unset; cursor: pointer; background: #c2410c; color: white; padding: .6rem .9rem; border-radius: 4px; font-family: Georgia, serif; }
pre { background: #fff; border: 1px solid #e7dccb; padding: 1rem; border-radius: 6px; white-space: pre-wrap; }
"""

PEOPLE = {
    "user-123": {
        "email": "jane@example.com",
        "name": "Jane Doe",
        "attrs": {"plan": "pro", "active": True},
        "organizations": [{"id": "org-456", "name": "Acme Corp", "attrs": {"industry": "SaaS"}}],
    },
    "user-456": {
        "email": "max@example.com",
        "name": "Max Mustermann",
        "attrs": {"plan": "free"},
        "organizations": [{"id": "org-789", "name": "Globex", "attrs": {"industry": "Energy"}}],
    },
}


def create_host_app(*, app_id: str, widget_base: str, private_key_path: Path) -> Flask:
    host = Flask("promptify_demo_host")
    key = OKPKey.import_key(private_key_path.read_text())

    @host.get("/")
    def page():  # type: ignore[no-untyped-def]
        return render_template_string(HOST_PAGE, app_id=app_id, widget_base=widget_base)

    @host.get("/host.js")
    def script():  # type: ignore[no-untyped-def]
        return HOST_JS, 200, {"Content-Type": "text/javascript; charset=utf-8"}

    @host.get("/host.css")
    def style():  # type: ignore[no-untyped-def]
        return HOST_CSS, 200, {"Content-Type": "text/css; charset=utf-8"}

    @host.get("/token")
    def token():  # type: ignore[no-untyped-def]
        user_id = request.args.get("id", "")
        if user_id not in PEOPLE:
            abort(404)
        claims = {"id": user_id, **PEOPLE[user_id], "aud": app_id, "exp": int(time.time()) + 300}
        return jwt.encode({"alg": "Ed25519"}, claims, key, registry=jws_registry("Ed25519"))

    return host
