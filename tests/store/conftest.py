"""Fixtures shared by the store tests."""

from __future__ import annotations

import pytest

from seawatch.store import Store
from tests.store import store_synth
from tests.store.store_checks import ingest


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("filled") / "s")
    frame = store_synth.random_input(5000, seed=7, hours=72)
    ingest(
        store, "a", store_synth.chunks(frame, 2000, vessels=store_synth.vessels_frame(80, seed=7))
    )
    return store
