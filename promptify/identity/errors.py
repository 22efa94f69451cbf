"""The error codes of docs/widget-api.md, "Errors", defined in one place."""

from __future__ import annotations

from typing import Any

STATUS_BY_CODE: dict[str, int] = {
    "invalid_json": 400,
    "jwt_malformed": 401,
    "jwt_unsupported_alg": 401,
    "jwt_no_matching_key": 401,
    "jwt_bad_signature": 401,
    "jwt_missing_exp": 401,
    "jwt_expired": 401,
    "jwt_not_yet_valid": 401,
    "jwt_replayed": 401,
    "jwt_invalid_claims": 401,
    "session_required": 401,
    "session_expired": 401,
    "jwt_required": 403,
    "verified_contact_requires_jwt": 403,
    "origin_not_allowed": 403,
    "unknown_app": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_field": 422,
    "too_many_attrs": 422,
    "too_many_organizations": 422,
    "rate_limited": 429,
    "unavailable": 503,
}


class ApiError(Exception):
    """Any refusal of the widget API, identification or not: an error code of
    docs/widget-api.md, "Errors", a message telling the developer what to change, a field path.

    `token_header` / `token_claims` carry what could be decoded of a refused token (never its
    signature) so the failure log can show it to the workspace admin.
    """

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        *,
        token_header: dict[str, Any] | None = None,
        token_claims: dict[str, Any] | None = None,
    ) -> None:
        if code not in STATUS_BY_CODE:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.token_header = token_header
        self.token_claims = token_claims

    @property
    def status(self) -> int:
        return STATUS_BY_CODE[self.code]
