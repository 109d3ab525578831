"""The OpenAPI description: served by the app, valid, naming exactly the endpoints there are,
and true to them — schemathesis generates requests from it (valid and invalid) and none may
get a server error or an answer the description does not allow."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ringround.api.urls import api

from .conftest import outcome_body, post, url

ENDPOINTS = {
    ("get", "/api/v1/health"),
    ("get", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/{public_id}"),
    ("get", "/api/v1/campaigns/{public_id}/stats"),
    ("post", "/api/v1/campaigns/{public_id}/claim"),
    ("post", "/api/v1/campaigns/{public_id}/outcomes"),
    ("post", "/api/v1/campaigns/{public_id}/release"),
    ("post", "/api/v1/campaigns/{public_id}/heartbeat"),
}


def served_schema():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
def test_openapi_description_is_served_and_valid():
    schema = served_schema()
    validate(schema)
    assert schema["info"]["version"] == "1"
    assert set(schema["components"]["securitySchemes"]) == {"TokenAuth", "SessionAuth"}
    assert schema["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_openapi_description_names_exactly_the_endpoints_there_are():
    described = {
        (method, path)
        for path, operations in served_schema()["paths"].items()
        for method in operations
    }
    assert described == ENDPOINTS


@pytest.mark.django_db
def test_every_authenticated_endpoint_declares_its_errors():
    for path, operations in served_schema()["paths"].items():
        for method, operation in operations.items():
            if path.endswith("/health"):
                continue
            assert operation["security"], (method, path)
            assert {"401", "404", "503"} <= set(operation["responses"]), (method, path)


@pytest.mark.django_db
def test_docs_page_is_served():
    assert Client().get("/api/v1/docs").status_code == 200


# --- schemathesis over the description, in-process through the WSGI app ------------------------------

django_app = get_wsgi_application()


def app(environ, start_response):
    """Ringround's WSGI app, minus closing the test's database connection after each request
    (the Django test client leaves the connection open in just the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        response = django_app(environ, start_response)
        body = b"".join(response)
        response.close()
        return [body]
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = app
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.django_db
@pytest.mark.parametrize("real_campaign", [True, False], ids=["real-campaign", "any-id"])
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_requests_get_no_server_error_and_answers_match_the_description(
    case, world, real_campaign
):
    if real_campaign and "public_id" in (case.path_parameters or {}):
        case.path_parameters["public_id"] = world.campaign.public_id
        if case.operation.path.endswith("/outcomes") and isinstance(case.body, dict):
            # Now and then a lease that is real, so the outcome rules run too.
            lease = post(world.client, url(world.campaign, "claim"))
            if lease.status_code == 200 and len(case.body) % 2:
                case.body = {**outcome_body(lease.json()["lease_token"]), **case.body}
    token = world.client.defaults["HTTP_AUTHORIZATION"]
    response = case.call(headers={"Authorization": token})
    case.validate_response(response, checks=CHECKS)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_without_credentials_are_refused_cleanly(case):
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    if not case.operation.path.endswith("/health"):
        assert response.status_code in (401, 404, 405, 422), response.text
