"""Builders for test data: plain functions, keys generated per test (no PEM files committed)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from promptify import clock as app_clock
from promptify.extensions import db
from promptify.models import Contact, Workspace
from promptify.services import workspaces


def make_workspace(
    app: Flask, *, origins: list[str] | None = None, require_jwt: bool = False
) -> str:
    """Create a workspace and return its app id."""
    with app.app_context():
        workspace = workspaces.create_workspace("Acme support", origins or [], now=app_clock.now())
        if require_jwt:
            workspaces.set_require_jwt(workspace, True, now=app_clock.now())
        return workspace.app_id


def identify(
    client: FlaskClient, app_id: str, body: Any, *, session: str | None = None, **headers: str
) -> Any:
    all_headers = dict(headers)
    if session is not None:
        all_headers["X-Promptify-Session"] = session
    return client.post(f"/widget/v1/apps/{app_id}/identify", json=body, headers=all_headers)


def stored_contacts(app: Flask) -> list[dict[str, Any]]:
    """Every contact as plain data, for "nothing was written" comparisons."""
    from promptify.blueprints.widget import schemas
    from promptify.services.contacts import snapshot

    with app.app_context():
        contacts = db.session.scalars(select(Contact).order_by(Contact.id)).all()
        return [
            {
                **schemas.contact(snapshot(c)),
                "pk": c.id,
                "last_seen_at": c.last_seen_at,
                "first_seen_at": c.first_seen_at,
            }
            for c in contacts
        ]


def workspace_id(app: Flask, app_id: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Workspace.id).where(Workspace.app_id == app_id))


# --- signing keys and tokens ---------------------------------------------------------------

KEY_TYPE_OF_ALG = {
    "EdDSA": "Ed25519",
    "Ed25519": "Ed25519",
    "ES256": "P-256",
    "PS256": "RSA",
    "RS256": "RSA",
}
_RSA_CACHE: list[Any] = []


def make_private_key(key_type: str) -> Any:
    """A fresh private key (RSA 2048 is generated once per test session: it is slow)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if key_type == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "P-256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "RSA-fresh":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if not _RSA_CACHE:
        _RSA_CACHE.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA_CACHE[0]


def public_pem(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(private_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def sign(private_key: Any, claims: dict[str, Any], *, alg: str = "Ed25519", **header: Any) -> str:
    """A token signed with joserfc (the verifier's registry, so EdDSA raises no warning)."""
    from joserfc import jwt
    from joserfc.jwk import import_key

    from promptify.identity.tokens import jws_registry

    key = import_key(
        private_pem(private_key),
        KEY_TYPE_OF_ALG[alg].replace("Ed25519", "OKP").replace("P-256", "EC"),
    )
    return jwt.encode({"alg": alg, **header}, claims, key, registry=jws_registry(alg))


def add_key(app: Flask, app_id: str, private_key: Any) -> str:
    """Upload the public half of `private_key` to the workspace; returns the thumbprint."""
    from promptify.services import keys as keys_service

    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        return keys_service.add_key(
            workspace, public_pem(private_key), now=app_clock.now()
        ).thumbprint


def make_conversation(
    app: Flask,
    app_id: str,
    *,
    external_id: str | None = "u1",
    name: str | None = None,
    messages: tuple[str, ...] = ("Hello",),
    status: str = "open",
    verified: bool = False,
    attrs: dict[str, Any] | None = None,
    at_offset_seconds: int = 0,
) -> int:
    """A contact (found or created) with one conversation of contact messages; returns its id."""
    from datetime import timedelta

    from promptify.models import Conversation, Message

    with app.app_context():
        now = app_clock.now() + timedelta(seconds=at_offset_seconds)
        workspace = db.session.scalar(select(Workspace).where(Workspace.app_id == app_id))
        contact = None
        if external_id is not None:
            contact = db.session.scalar(
                select(Contact).where(
                    Contact.workspace_id == workspace.id, Contact.external_id == external_id
                )
            )
        if contact is None:
            contact = Contact(
                workspace_id=workspace.id,
                external_id=external_id,
                name=name,
                attrs=attrs or {},
                verified=verified,
                first_seen_at=now,
                last_seen_at=now,
            )
            db.session.add(contact)
            db.session.flush()
        conversation = Conversation(
            workspace_id=workspace.id,
            contact_id=contact.id,
            status=status,
            preview=messages[-1][:200],
            created_at=now,
            last_message_at=now,
        )
        db.session.add(conversation)
        db.session.flush()
        for body in messages:
            db.session.add(
                Message(
                    conversation_id=conversation.id,
                    author="contact",
                    body=body,
                    verified=verified,
                    created_at=now,
                )
            )
        db.session.commit()
        return conversation.id
