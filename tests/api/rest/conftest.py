"""Fixtures and checks of the REST tests: the store's positions and events to compare
answers with, ISO 8601 UTC times as the API writes them."""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl
import pytest

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$")
"""A time as the API writes it: ISO 8601 UTC with ``Z``, microseconds only when not zero."""


def parse(text: str) -> datetime:
    """A time of an answer as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def positions(store) -> pl.DataFrame:
    return store.positions().collect()


@pytest.fixture(scope="module")
def events(store) -> pl.DataFrame:
    return store.events().collect()
