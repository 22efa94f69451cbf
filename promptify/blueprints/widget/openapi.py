"""The widget API's OpenAPI 3.1 document (docs/widget-api.md), served at /widget/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from promptify.identity.errors import STATUS_BY_CODE
from promptify.models import Author, Status


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): _json(_ref("Error"), 'Refused; see error.code (docs/widget-api.md, "Errors")')
        for s in statuses
    }


NULLABLE_STRING = {"type": ["string", "null"]}
ATTRS = {
    "type": "object",
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}
ID = {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "integer"}]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "field"],
                "properties": {
                    "code": {"type": "string", "enum": sorted([*STATUS_BY_CODE, "internal_error"])},
                    "message": {"type": "string"},
                    "field": NULLABLE_STRING,
                },
            }
        },
    },
    "IdentifyRequest": {
        "description": "Exactly the object given to promptify.setUser(): {id: null}, user data, or {jwt}.",
        "type": "object",
        "properties": {
            "id": {"oneOf": [ID, {"type": "null"}]},
            "email": NULLABLE_STRING,
            "name": NULLABLE_STRING,
            "avatarUrl": NULLABLE_STRING,
            "attrs": ATTRS,
            "organizations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {"id": ID, "name": {"type": "string"}, "attrs": ATTRS},
                },
            },
            "jwt": {"type": "string"},
        },
    },
    "Organization": {
        "type": "object",
        "required": ["id", "name", "attrs"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "attrs": ATTRS},
    },
    "Contact": {
        "type": "object",
        "required": [
            "id",
            "anonymous",
            "verified",
            "email",
            "name",
            "avatarUrl",
            "attrs",
            "organizations",
        ],
        "properties": {
            "id": NULLABLE_STRING,
            "anonymous": {"type": "boolean"},
            "verified": {"type": "boolean"},
            "email": NULLABLE_STRING,
            "name": NULLABLE_STRING,
            "avatarUrl": NULLABLE_STRING,
            "attrs": ATTRS,
            "organizations": {"type": "array", "items": _ref("Organization")},
        },
    },
    "IdentifyResponse": {
        "type": "object",
        "required": ["session", "contact", "verifiedUntil"],
        "properties": {
            "session": {"type": "string"},
            "contact": _ref("Contact"),
            "verifiedUntil": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "While the session is verified, when that proof lapses unless a signed "
                "identify renews it (docs/security.md, trust lifecycle); null otherwise.",
            },
        },
    },
    "Conversation": {
        "type": "object",
        "required": ["id", "status", "lastMessageAt", "preview", "unread"],
        "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": [s.value for s in Status]},
            "lastMessageAt": {"type": "string", "format": "date-time"},
            "preview": {"type": "string"},
            "unread": {
                "type": "integer",
                "minimum": 0,
                "description": "Agent messages the visitor has not been shown (POST .../read).",
            },
        },
    },
    "Message": {
        "type": "object",
        "required": ["id", "author", "authorName", "body", "createdAt", "verified"],
        "properties": {
            "id": {"type": "integer"},
            "author": {"type": "string", "enum": [a.value for a in Author]},
            "authorName": NULLABLE_STRING,
            "body": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "verified": {"type": "boolean"},
        },
    },
    "ReadRequest": {
        "type": "object",
        "required": ["lastMessageId"],
        "properties": {"lastMessageId": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}},
    },
    "MessageRequest": {
        "type": "object",
        "required": ["body"],
        "properties": {"body": {"type": "string", "minLength": 1, "maxLength": 10000}},
    },
}

APP_ID = {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}}
CONVERSATION_ID = {
    "name": "conversation_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}
SESSION = {
    "name": "X-Promptify-Session",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
}
COMMON_ERRORS = (403, 404, 413, 415, 429, 503)


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Promptify widget API", "version": "1"},
        "paths": {
            "/widget/v1/apps/{app_id}/identify": {
                "post": {
                    "summary": "Identify the visitor (setUser)",
                    "parameters": [APP_ID, SESSION],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("IdentifyRequest")}},
                    },
                    "responses": {
                        "200": _json(
                            _ref("IdentifyResponse"), "The stored contact and the session to use"
                        ),
                        **_errors(400, 401, 422, *COMMON_ERRORS),
                    },
                }
            },
            "/widget/v1/apps/{app_id}/conversations": {
                "get": {
                    "summary": "The session contact's conversations, newest activity first; "
                    "an ETag, and 304 to an If-None-Match that still matches",
                    "parameters": [APP_ID, SESSION, IF_NONE_MATCH],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["conversations"],
                                "properties": {
                                    "conversations": {
                                        "type": "array",
                                        "items": _ref("Conversation"),
                                    }
                                },
                            },
                            "Conversations",
                        ),
                        "304": {"description": "Unchanged since the ETag sent in If-None-Match"},
                        **_errors(401, *COMMON_ERRORS),
                    },
                },
                "post": {
                    "summary": "Start a conversation",
                    "parameters": [APP_ID, SESSION],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("MessageRequest")}},
                    },
                    "responses": {
                        "201": _json(
                            {
                                "type": "object",
                                "required": ["conversation", "message"],
                                "properties": {
                                    "conversation": _ref("Conversation"),
                                    "message": _ref("Message"),
                                },
                            },
                            "Started",
                        ),
                        **_errors(400, 401, 422, *COMMON_ERRORS),
                    },
                },
            },
            "/widget/v1/apps/{app_id}/conversations/{conversation_id}/messages": {
                "get": {
                    "summary": "Messages, oldest first; only those newer than `after` when given",
                    "parameters": [
                        APP_ID,
                        CONVERSATION_ID,
                        SESSION,
                        {
                            "name": "after",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer"},
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["messages"],
                                "properties": {
                                    "messages": {"type": "array", "items": _ref("Message")}
                                },
                            },
                            "Messages",
                        ),
                        **_errors(400, 401, 422, *COMMON_ERRORS),
                    },
                },
                "post": {
                    "summary": "Write a message",
                    "parameters": [APP_ID, CONVERSATION_ID, SESSION],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("MessageRequest")}},
                    },
                    "responses": {
                        "201": _json(
                            {
                                "type": "object",
                                "required": ["message"],
                                "properties": {"message": _ref("Message")},
                            },
                            "Written",
                        ),
                        **_errors(400, 401, 422, *COMMON_ERRORS),
                    },
                },
            },
            "/widget/v1/apps/{app_id}/conversations/{conversation_id}/read": {
                "post": {
                    "summary": "The visitor was shown the messages up to lastMessageId",
                    "parameters": [APP_ID, CONVERSATION_ID, SESSION],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ReadRequest")}},
                    },
                    "responses": {
                        "204": {"description": "Marked as read"},
                        **_errors(400, 401, 422, *COMMON_ERRORS),
                    },
                },
            },
        },
        "components": {"schemas": SCHEMAS},
    }
