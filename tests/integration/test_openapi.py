"""The widget API against its own OpenAPI document: schemathesis-generated requests, bounded in
count, on both databases: zero 5xx and zero schema violations."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.factories import identify, make_workspace

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def test_document_is_served(client):
    document = client.get("/widget/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    assert "/widget/v1/apps/{app_id}/identify" in document["paths"]


def test_api_conforms_to_its_schema(app, client):
    app_id = make_workspace(app)
    session = identify(client, app_id, {"id": "schema-user"}).json["session"]
    client.post(
        f"/widget/v1/apps/{app_id}/conversations",
        json={"body": "hello"},
        headers={"X-Promptify-Session": session},
    )
    schema = schemathesis.openapi.from_wsgi("/widget/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    conversation_id = client.get(
        f"/widget/v1/apps/{app_id}/conversations", headers={"X-Promptify-Session": session}
    ).json["conversations"][0]["id"]
    successes = 0
    for operation in operations:  # known-good calls first, so the success schemas are exercised
        body: dict = {"body": "hi"}
        if operation.path.endswith("identify"):
            body = {"id": "schema-user", "name": "S"}
        elif operation.path.endswith("read"):
            body = {"lastMessageId": 1}
        extra = (
            {"body": body, "media_type": "application/json"} if operation.method == "post" else {}
        )
        case = operation.Case(
            path_parameters={"app_id": app_id, "conversation_id": conversation_id},
            headers={"X-Promptify-Session": session},
            **extra,
        )
        response = case.call()
        case.validate_response(response, checks=CHECKS)
        successes += response.status_code in (200, 201, 204)
    assert successes == 6

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case):  # type: ignore[no-untyped-def]
            case.path_parameters = {**(case.path_parameters or {}), "app_id": app_id}
            if not (case.headers or {}).get("X-Promptify-Session"):
                case.headers = {**(case.headers or {}), "X-Promptify-Session": session}
            response = case.call()
            case.validate_response(response, checks=CHECKS)

        check()
