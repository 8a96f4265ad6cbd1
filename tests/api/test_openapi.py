"""The OpenAPI document, and a schemathesis fuzz of every operation it describes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

FUZZ_EXAMPLES = 15
"""Examples per operation and mode: bounded so the fuzz runs in seconds on two cores."""

CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, status_code_conformance,
                              content_type_conformance, response_schema_conformance],
    GenerationMode.NEGATIVE: [not_a_server_error, status_code_conformance,
                              negative_data_rejection],
}
"""Valid requests must succeed as documented; invalid ones must be refused with a 4xx."""


def test_document_is_openapi_30_with_400_not_422(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"] == "3.0.3"
    text = client.get("/openapi.json").text
    assert '"422"' not in text and '"type":"null"' not in text.replace(" ", "")
    paths = doc["paths"]
    for path in ("/api/v1/stats", "/api/v1/vessels", "/api/v1/vessels/{mmsi}",
                 "/api/v1/vessels/{mmsi}/track", "/api/v1/positions", "/api/v1/events",
                 "/api/v1/events/{event_id}", "/api/v1/zones", "/api/v1/basemap/land",
                 "/api/v1/export/positions", "/api/v1/export/events", "/api/v1/export/vessels",
                 "/ogc", "/ogc/conformance", "/ogc/collections",
                 "/ogc/collections/{collectionId}", "/ogc/collections/{collectionId}/items",
                 "/ogc/collections/{collectionId}/items/{featureId}"):
        assert path in paths, path
    limit = next(p for p in paths["/api/v1/positions"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000 and limit["schema"]["default"] == 1000
    assert "400" in paths["/api/v1/positions"]["get"]["responses"]
    assert doc["components"]["schemas"]["Error"]["required"] == ["detail"]


def test_docs_pages(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "openapi.json" in page.text
    assert "cdn" not in page.text.lower()  # the default docs load nothing from the internet
    assert client.get("/docs/swagger").status_code == 200


@pytest.mark.parametrize("mode", list(CHECKS), ids=lambda m: m.value)
def test_fuzz_every_operation(app, mode):
    """schemathesis cases for every operation, checked in-process (ASGI).

    schemathesis' own pytest integration (``schema.parametrize`` with ``from_fixture``)
    does not run under pytest 9, so each operation's strategy is driven here with
    ``hypothesis.given``; ``derandomize`` keeps the run the same every time.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 18
    failures = []
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to make invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            case.call_and_validate(checks=CHECKS[mode])

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
