"""schemathesis over every operation with a partner's token: the partner agency's viewer,
reading through two live grants of the host (one with positions everywhere, one of encounters
in a box), so every data route runs the filtered view of a non-host caller. No case may end
in a 5xx; the admin-only operations answer 403, never 401.

The host admin's run is ``tests/api/test_openapi.py::test_fuzz_every_operation``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from schemathesis import GenerationMode

from tests.api.test_openapi import CHECKS, fuzz_operations


@pytest.fixture
def partner_fuzz_app(store_dir, tmp_path):
    """The session store with a state of its own, two grants to the partner, and the
    partner viewer's token."""
    from seawatch.api import create_app
    from seawatch.share.db import open_state, utcnow
    from seawatch.share.grants import create_grant
    from tests.api.conftest import HOST, PARTNER, setup_sharing

    sharing = setup_sharing(open_state(f"sqlite:///{tmp_path / 'fuzz.db'}"))
    until = utcnow() + timedelta(days=1)
    create_grant(sharing.state, grantor=HOST, grantee=PARTNER, expires_at=until,
                 include_positions=True, max_marking="AMBER")
    create_grant(sharing.state, grantor=HOST, grantee=PARTNER, expires_at=until,
                 bbox=(-92.0, -3.0, -79.0, 2.0), event_types=["encounter"])
    return create_app(store_dir, state=sharing.state), sharing.headers("partner_viewer")


@pytest.mark.parametrize("mode", list(CHECKS), ids=lambda m: m.value)
def test_fuzz_every_operation_as_a_partner(partner_fuzz_app, mode):
    app, headers = partner_fuzz_app
    statuses = fuzz_operations(app, headers, mode)
    assert not [op for op, seen in statuses.items() if 401 in seen and "login" not in op]
    if mode is GenerationMode.POSITIVE:
        for op in ("GET /api/v1/stats", "GET /api/v1/positions", "GET /api/v1/events",
                   "GET /api/v1/vessels", "GET /api/v1/grants"):
            assert 200 in statuses[op], (op, statuses[op])
        for op in ("POST /api/v1/grants", "GET /api/v1/audit",
                   "PUT /api/v1/markings/events/{event_id}"):
            assert statuses[op] <= {400, 403, 404}, (op, statuses[op])
