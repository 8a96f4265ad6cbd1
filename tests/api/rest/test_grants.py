"""``POST /api/v1/grants``: every refusal answers its status and says why."""

from __future__ import annotations

from tests.api.conftest import HOST, PARTNER


def test_grant_create_errors(env):
    client = env.client()
    h = env.headers("admin")
    cases = [
        ({"grantee": "NOPE", "until": "1h"}, 404, "unknown agency"),
        ({"grantee": PARTNER, "until": "1h", "zone": "Atlantis"}, 404, "unknown zone"),
        ({"grantee": PARTNER, "until": "yesterday"}, 400, "ISO 8601"),
        ({"grantee": PARTNER, "until": "2020-01-01"}, 400, "not in the future"),
        ({"grantee": HOST, "until": "1h"}, 400, "own data"),
        ({"grantee": PARTNER, "until": "1h", "event_types": ["parking"]}, 400, "unknown event"),
        ({"grantee": PARTNER, "until": "1h", "max_marking": "WHITE"}, 400, "CLEAR"),
        ({"grantee": PARTNER, "until": "1h", "bbox": [1, 2, 3]}, 400, "bbox"),
    ]
    for body, status, words in cases:
        response = client.post("/api/v1/grants", json=body, headers=h)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["detail"], (body, response.json())
