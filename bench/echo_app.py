"""The baseline: a bare Flask app that returns the JSON it got, served like Promptify."""

from __future__ import annotations

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/echo")
def echo():  # type: ignore[no-untyped-def]
    return jsonify(request.get_json())


@app.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")
