"""The registry: every detector once, in the order the pipeline runs them."""

from __future__ import annotations

import dataclasses

import pytest

from seawatch import schema
from seawatch.detect.config import SECTIONS
from seawatch.detect.detector import Detector
from seawatch.detect.registry import DETECTED_TYPES, DETECTORS, detector, detectors_for
from seawatch.errors import InvalidValue


def test_every_detector_once_with_its_own_event_types():
    names = [d.name for d in DETECTORS]
    assert len(set(names)) == len(names)
    assert len(set(DETECTED_TYPES)) == len(DETECTED_TYPES)
    assert set(DETECTED_TYPES) <= set(schema.EVENT_TYPES)
    for d in DETECTORS:
        assert SECTIONS[d.name] is d.params  # its config section is its model
        assert d.params.__doc__ and all(f.description for f in d.params.model_fields.values())


def test_providers_run_before_what_needs_them():
    position = {d.name: k for k, d in enumerate(DETECTORS)}
    for d in DETECTORS:
        for provider in DETECTORS:
            if provider.provides in d.needs:
                assert position[provider.name] < position[d.name]


def test_detectors_for_types_bring_what_they_need():
    assert [d.name for d in detectors_for(None)] == [d.name for d in DETECTORS]
    assert [d.name for d in detectors_for(["loitering"])] == ["encounter", "loitering"]
    assert [d.name for d in detectors_for("zone_exit")] == ["zone"]
    assert detector("port_visit").event_types == ("port_visit",)
    with pytest.raises(InvalidValue, match="valid: spoofing, gap"):
        detectors_for(["dark_fleet"])
    with pytest.raises(InvalidValue, match="no detector 'gaps'; valid: spoofing, gap"):
        detector("gaps")


def test_a_detector_that_pairs_chunks_must_say_how():
    visits = detector("port_visit")
    with pytest.raises(ValueError, match="needs a Split"):
        dataclasses.replace(visits, needs=frozenset({"encounters"}))
    with pytest.raises(ValueError, match="needs a Split"):
        Detector("x", ("gap",), visits.params, visits.detect, provides="encounters")
