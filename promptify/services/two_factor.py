"""Two-factor sign-in (docs/security.md, "Two-factor sign-in"): TOTP codes (RFC 6238, 30-second
steps, 6 digits) from an authenticator app, ten one-time recovery codes, and the installation's
rule that everyone must use it.

Each code is accepted once: the operator row remembers the last time step a code was accepted
for, and a code of that step or an earlier one is refused (a conditional update, so two
requests racing with the same code cannot both pass). Recovery codes are random 80-bit strings
of which only the SHA-256 is kept; using one marks it used.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from datetime import datetime
from typing import Any, cast

import pyotp
import segno
from pyotp.utils import strings_equal
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from promptify.extensions import db
from promptify.models import InstallationSettings, Operator, RecoveryCode, TwoFactorMethod
from promptify.services import console_sessions, transaction

ISSUER = "Promptify"
DIGITS = 6
VALID_WINDOW = 1  # a code of the step before or after also passes: phones' clocks drift a little
RECOVERY_CODES = 10
# Crockford's base32: no i, l, o or u to misread; 16 characters are 80 random bits
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_LENGTH = 16
_READS_AS = str.maketrans({"o": "0", "i": "1", "l": "1"})


class TwoFactorRejected(ValueError):
    """A code, password or change that was refused, naming the form field it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- the installation's rule --------------------------------------------------------------------


def is_required() -> bool:
    """Whether an admin requires two-factor sign-in of every operator."""
    return bool(
        db.session.scalar(
            select(InstallationSettings.require_two_factor).where(InstallationSettings.id == 1)
        )
    )


def set_required(required: bool, *, now: datetime) -> None:
    """Require two-factor sign-in of everyone, or stop requiring it. Operators without it are
    sent to set it up at their next request (their sessions continue)."""
    for attempt in range(2):
        try:
            with transaction.write():
                settings = db.session.get(InstallationSettings, 1)
                if settings is None:  # the first change: the row is created
                    settings = InstallationSettings(id=1)
                    db.session.add(settings)
                settings.require_two_factor = required
                settings.changed_at = now
            return
        except IntegrityError:  # the row was created concurrently: change it instead
            if attempt:
                raise


def operators_without() -> int:
    """Active operators who have not set two-factor sign-in up."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Operator)
            .where(Operator.active.is_(True), Operator.totp_secret.is_(None))
        )
        or 0
    )


# --- codes --------------------------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS)


def _digits(code: str) -> str | None:
    """`code` as the six digits an authenticator shows (spaces allowed), else None."""
    compact = "".join(code.split())
    return compact if len(compact) == DIGITS and compact.isascii() and compact.isdigit() else None


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is, within the allowed window around `now`."""
    digits = _digits(code)
    if digits is None:
        return None
    totp = _totp(secret)
    current = totp.timecode(now)
    matches = [
        step
        for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1)
        if strings_equal(digits, totp.generate_otp(step))
    ]
    return max(matches) if matches else None


def _use_step(operator: Operator, secret: str, step: int) -> bool:
    """Within a write transaction: record `step` as used, unless it (or a later one) already
    was, or the secret changed meanwhile."""
    result = db.session.execute(
        update(Operator)
        .where(
            Operator.id == operator.id,
            Operator.totp_secret == secret,
            (Operator.totp_last_step.is_(None)) | (Operator.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", result).rowcount == 1


def _recovery_hash(code: str) -> str | None:
    """The SHA-256 of a recovery code as typed (case, spaces and dashes do not matter, nor an
    o typed for a 0 or an l for a 1); None for what cannot be one."""
    compact = "".join(c for c in code.lower().translate(_READS_AS) if c.isalnum())
    if len(compact) != _RECOVERY_LENGTH or not set(compact) <= set(_RECOVERY_ALPHABET):
        return None
    return _sha256(compact)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def _replace_recovery_codes(operator: Operator, *, now: datetime) -> list[str]:
    """Within a write transaction: ten new codes instead of any earlier ones (shown once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.operator_id == operator.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.session.add_all(
        RecoveryCode(
            operator_id=operator.id, code_hash=_sha256(code.replace("-", "")), created_at=now
        )
        for code in codes
    )
    return codes


def remaining_recovery_codes(operator: Operator) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.operator_id == operator.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


# --- setting it up ------------------------------------------------------------------------------


def begin_enrolment(operator: Operator) -> str:
    """The secret the operator is to add to their authenticator app: the one already being set
    up, or a new one (160 random bits). Nothing changes at sign-in until it is confirmed."""
    if operator.totp_secret is not None:
        raise TwoFactorRejected("code", "Two-factor sign-in is already on.")
    with transaction.write():
        if operator.totp_pending_secret is None:
            operator.totp_pending_secret = pyotp.random_base32(32)
        secret = operator.totp_pending_secret
    return secret


def provisioning_uri(operator: Operator, secret: str) -> str:
    """The `otpauth://` address an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=operator.email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """`uri` as a QR code: an SVG image in a `data:` URL (no script, allowed by the console's
    Content-Security-Policy)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer, kind="svg", scale=5, border=4, xmldecl=False, dark="#000", light="#fff"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def confirm_enrolment(
    operator: Operator, code: str, *, now: datetime, session_id: int | None
) -> list[str]:
    """Turn two-factor sign-in on once `code` shows the app has the secret being set up: the
    operator's other console sessions end (this one, `session_id`, continues as having passed
    it) and ten recovery codes are returned, to be shown once."""
    if operator.totp_secret is not None:
        raise TwoFactorRejected("code", "Two-factor sign-in is already on.")
    pending = operator.totp_pending_secret
    if pending is None:
        raise TwoFactorRejected("code", "Start setting up two-factor sign-in first.")
    step = _matching_step(pending, code, now)
    if step is None:
        raise TwoFactorRejected(
            "code",
            "That is not the current code for this secret: check the app shows Promptify "
            "with your email, and that the phone's clock is right.",
        )
    with transaction.write():
        result = db.session.execute(
            update(Operator)
            .where(
                Operator.id == operator.id,
                Operator.totp_secret.is_(None),
                Operator.totp_pending_secret == pending,
            )
            .values(
                totp_secret=pending,
                totp_pending_secret=None,
                totp_last_step=step,
                two_factor_since=now,
            )
            .execution_options(synchronize_session=False)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:  # confirmed or restarted meanwhile
            raise TwoFactorRejected("code", "Two-factor sign-in was changed meanwhile; try again.")
        codes = _replace_recovery_codes(operator, now=now)
        console_sessions.end_all_of(operator, now=now, except_id=session_id)
        if session_id is not None:
            console_sessions.mark_two_factor(session_id, TwoFactorMethod.ENROLMENT)
    return codes


# --- using it -----------------------------------------------------------------------------------


def verify_sign_in(operator: Operator, code: str, *, now: datetime) -> TwoFactorMethod | None:
    """The second step of signing in: a current code from the app (each accepted once) or an
    unused recovery code (then used up). None when neither."""
    secret = operator.totp_secret
    if secret is None:
        return None
    step = _matching_step(secret, code, now)
    if step is not None:
        with transaction.write():
            accepted = _use_step(operator, secret, step)
        return TwoFactorMethod.TOTP if accepted else None
    code_hash = _recovery_hash(code)
    if code_hash is None:
        return None
    with transaction.write():
        result = db.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.operator_id == operator.id,
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    if cast("CursorResult[Any]", result).rowcount == 1:
        return TwoFactorMethod.RECOVERY_CODE
    return None


def _check_code_or_password(operator: Operator, credential: str, *, now: datetime) -> None:
    """Within a write transaction: `credential` is a current code from the app (now used) or
    the operator's password."""
    secret = operator.totp_secret
    if secret is not None and _digits(credential) is not None:
        step = _matching_step(secret, credential, now)
        if step is not None and _use_step(operator, secret, step):
            return
    elif credential and check_password_hash(operator.password_hash, credential):
        return
    raise TwoFactorRejected(
        "credential",
        "That is neither a current code from your authenticator app nor your password.",
    )


def new_recovery_codes(operator: Operator, credential: str, *, now: datetime) -> list[str]:
    """Ten new recovery codes instead of the earlier ones, given a current code or the
    password."""
    if operator.totp_secret is None:
        raise TwoFactorRejected("credential", "Two-factor sign-in is off.")
    with transaction.write():
        _check_code_or_password(operator, credential, now=now)
        codes = _replace_recovery_codes(operator, now=now)
    return codes


def disable(operator: Operator, credential: str, *, now: datetime) -> None:
    """Turn two-factor sign-in off, given a current code or the password: the secret and the
    recovery codes are deleted."""
    if operator.totp_secret is None:
        raise TwoFactorRejected("credential", "Two-factor sign-in is already off.")
    with transaction.write():
        _check_code_or_password(operator, credential, now=now)
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.operator_id == operator.id))
        db.session.execute(
            update(Operator)
            .where(Operator.id == operator.id)
            .values(
                totp_secret=None,
                totp_pending_secret=None,
                totp_last_step=None,
                two_factor_since=None,
            )
            .execution_options(synchronize_session=False)
        )
