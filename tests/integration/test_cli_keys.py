"""`promptify keys ...` and `promptify demo`: the same key service as the console form."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import identify, make_private_key, make_workspace, private_pem, public_pem


@pytest.fixture
def app_id(app):
    return make_workspace(app)


def test_add_from_file_prints_the_thumbprint(runner, app_id, tmp_path):
    pem = tmp_path / "public.pem"
    pem.write_text(public_pem(make_private_key("Ed25519")))
    result = runner.invoke(args=["keys", "add", app_id, str(pem)])
    assert result.exit_code == 0, result.output
    thumbprint = result.stdout.strip()
    assert len(thumbprint) == 43 and "\n" not in thumbprint
    listed = runner.invoke(args=["keys", "list", app_id]).stdout.strip().split("\t")
    assert listed == [thumbprint, "Ed25519", "current"]


def test_add_from_stdin_and_rotation_statuses(runner, app_id, clock):
    first = runner.invoke(
        args=["keys", "add", app_id, "-"], input=public_pem(make_private_key("P-256"))
    ).stdout.strip()
    second = runner.invoke(
        args=["keys", "add", app_id, "-"], input=public_pem(make_private_key("Ed25519"))
    ).stdout.strip()
    lines = dict(
        line.split("\t", 1)
        for line in runner.invoke(args=["keys", "list", app_id]).stdout.strip().splitlines()
    )
    assert lines[second] == "Ed25519\tcurrent"
    assert lines[first].startswith("P-256\tretiring until ")
    clock.advance(hours=2, seconds=1)
    lines = dict(
        line.split("\t", 1)
        for line in runner.invoke(args=["keys", "list", app_id]).stdout.strip().splitlines()
    )
    assert lines[first] == "P-256\texpired"
    assert runner.invoke(args=["keys", "revoke", app_id, second]).exit_code == 0
    lines = dict(
        line.split("\t", 1)
        for line in runner.invoke(args=["keys", "list", app_id]).stdout.strip().splitlines()
    )
    assert lines[second] == "Ed25519\trevoked"


def test_re_adding_the_current_key_is_a_no_op_and_a_retired_key_comes_back(runner, app_id):
    old_pem, new_pem = (
        public_pem(make_private_key("Ed25519")),
        public_pem(make_private_key("Ed25519")),
    )
    old = runner.invoke(args=["keys", "add", app_id, "-"], input=old_pem).stdout.strip()
    assert runner.invoke(args=["keys", "add", app_id, "-"], input=old_pem).stdout.strip() == old
    assert len(runner.invoke(args=["keys", "list", app_id]).stdout.strip().splitlines()) == 1
    runner.invoke(args=["keys", "add", app_id, "-"], input=new_pem)
    runner.invoke(args=["keys", "add", app_id, "-"], input=old_pem)
    lines = dict(
        line.split("\t", 1)
        for line in runner.invoke(args=["keys", "list", app_id]).stdout.strip().splitlines()
    )
    assert lines[old] == "Ed25519\tcurrent"


def test_private_key_is_refused_on_stderr_and_never_stored(runner, app_id):
    secret = private_pem(make_private_key("Ed25519"))
    result = runner.invoke(args=["keys", "add", app_id, "-"], input=secret)
    assert result.exit_code != 0
    assert "Never paste a private key" in result.stderr
    assert result.stdout == ""
    assert runner.invoke(args=["keys", "list", app_id]).stdout == ""


def test_revoke_unknown_thumbprint_fails(runner, app_id):
    result = runner.invoke(args=["keys", "revoke", app_id, "nope"])
    assert result.exit_code != 0


def test_demo_signs_a_token_that_identifies_a_verified_user(app, runner, client, tmp_path):
    app.config["CLOCK"] = None  # the printed signer uses the real time
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    app_id = result.stdout.split("app id: ")[1].split()[0]
    signer = Path(app.instance_path) / "demo" / "sign_token.py"
    assert str(signer) in result.stdout
    token = subprocess.run(
        [sys.executable, str(signer), "demo-user"], capture_output=True, text=True, check=True
    ).stdout.strip()
    response = identify(client, app_id, {"jwt": token})
    assert response.status_code == 200, response.json
    assert (
        response.json["contact"]["verified"] is True
        and response.json["contact"]["id"] == "demo-user"
    )
    node = Path(__file__).resolve().parents[1] / "node"
    if (node / "node_modules" / "jose").exists():
        node_token = subprocess.run(
            [
                "node",
                "--input-type=module",
                "-e",
                (Path(app.instance_path) / "demo" / "sign-token.mjs")
                .read_text()
                .replace(
                    'new URL("./ed25519-private.pem", import.meta.url)',
                    json.dumps(str(Path(app.instance_path) / "demo" / "ed25519-private.pem")),
                ),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=node,
        ).stdout.strip()
        assert identify(client, app_id, {"jwt": node_token}).json["contact"]["verified"] is True


def test_revoke_takes_a_thumbprint_that_starts_with_a_dash(app, runner):
    """RFC 7638 thumbprints are base64url: one in 64 begins with "-", which must not read as an option."""
    from tests.factories import make_private_key, make_workspace, public_pem

    app_id = make_workspace(app)
    while True:
        pem = public_pem(make_private_key("Ed25519"))
        added = runner.invoke(args=["keys", "add", app_id, "-"], input=pem)
        thumbprint = added.stdout.strip()
        if thumbprint.startswith("-"):
            break
    result = runner.invoke(args=["keys", "revoke", app_id, thumbprint])
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stderr
