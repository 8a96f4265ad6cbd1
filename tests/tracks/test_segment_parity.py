"""Parity of seawatch.tracks.segment with GFW gpsdio-segment on its real regression fixtures.

56 files, 88,883 real ORBCOMM satellite messages; we compare partitions of the 56,883
position messages the reference kept (``docs/parity-gfw-segment-gaps.md`` explains every
difference). The thresholds below are the agreement measured when this was written, rounded
down, so a change that loses agreement fails here.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from seawatch.detect.gap import detect_gaps
from seawatch.detect.spoofing import detect_spoofing
from seawatch.tracks import clean, segment
from tests.conftest import shared_data_path
from tests.tracks.gfw_segment_reference import compare, load_regression, per_file


@pytest.fixture(scope="module")
def regression() -> tuple[pl.DataFrame, pl.DataFrame]:
    folder = shared_data_path("reference", "gfw-segment", "regression")
    pos = load_regression(folder)
    sizes = pos.group_by("expected").len().rename({"len": "ref_n"})
    return pos.join(sizes, on="expected"), segment(pos)


def test_fixture_is_the_documented_one(regression: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    pos, seg = regression
    assert pos.height == 56_883
    assert pos["file"].n_unique() == 56
    assert seg.height == 55_819  # 1,064 exact repeats (same mmsi, time, position) dropped


def test_overall_agreement(regression: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    pos, seg = regression
    stats = compare(pos, seg)
    assert stats["ari"] >= 0.982
    assert stats["consecutive_agree"] >= 0.974
    # seawatch almost never splits what the reference keeps together ...
    assert stats["same_recall"] >= 0.9998
    # ... the disagreements are reference one-message segments seawatch keeps in the track
    assert stats["same_precision"] >= 0.9736


def test_agreement_without_reference_single_message_segments(
    regression: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    pos, seg = regression
    tracks = pos.filter(pl.col("ref_n") >= 2)
    stats = compare(tracks, seg)
    assert stats["ari"] >= 0.9996
    assert stats["consecutive_agree"] >= 0.9998
    table = per_file(tracks, seg)
    assert int((table["consecutive_agree"] == 1.0).sum()) >= 54  # of 56 files
    assert float(table["consecutive_agree"].min()) >= 0.993


def test_disagreements_are_the_references_one_message_segments(
    regression: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    pos, seg = regression
    j = pos.join(seg.select("row", "segment_id"), on="row").sort("mmsi", "ts", "row")
    a, b = j["expected"].to_numpy(), j["segment_id"].to_numpy()
    single = (j["ref_n"] == 1).to_numpy()
    same_mmsi = j["mmsi"].to_numpy()[1:] == j["mmsi"].to_numpy()[:-1]
    disagree = ((a[1:] == a[:-1]) != (b[1:] == b[:-1])) & same_mmsi
    explained = disagree & (single[1:] | single[:-1])
    assert int(disagree.sum()) <= 1451
    assert int((disagree & ~explained).sum()) <= 8
    # what the compared reference singletons are: GFW's rules for noisy and bad messages
    singles = j.filter(pl.col("ref_n") == 1)
    type27 = singles["msg_type"] == 27
    no_speed = singles["reported_speed"].is_between(102.25, 102.35) & ~type27
    assert (singles.height, int(type27.sum()), int(no_speed.sum())) == (794, 713, 45)


def test_detectors_agree_on_either_partition(
    regression: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    # the same detectors run on the reference partition and on seawatch's
    pos, seg = regression
    ref = clean(pos).with_columns(
        pl.col("expected").rank("dense").cast(pl.Int64).alias("segment_id")
    )
    ours_s, ref_s = detect_spoofing(seg), detect_spoofing(ref)
    # one event per shared MMSI and episode (issue 12: 30 before, one per switch burst and
    # per garbled report), the same episodes on either partition; the two long shared
    # identities (412331088, 567000000) differ only in a first or last switch
    assert (ours_s.height, ref_s.height) == (7, 7)
    assert sorted(ours_s["mmsi"].to_list()) == sorted(ref_s["mmsi"].to_list())
    assert ours_s.join(ref_s, on=["event_id", "end"]).height >= 5
    ours_g, ref_g = detect_gaps(seg), detect_gaps(ref)
    # one outage of coverage, not a gap; on the reference partition two silences of the
    # shared MMSI 567000000 are none either: the MMSI was heard within heard_within_km of an
    # end (its other ship, or a split-off track of the same one)
    assert (ours_g.height, ref_g.height) == (75, 75)
    same = ours_g.join(ref_g, on=["event_id", "end"])
    assert same.height >= 73
    differing = pl.concat([ours_g, ref_g]).join(same, on="event_id", how="anti")
    assert np.unique(differing["mmsi"].to_numpy()).tolist() == [567000000]  # shared MMSI
