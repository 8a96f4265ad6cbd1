"""The notice logged when seawatch's kernels compile (``seawatch.io.jit``)."""

from __future__ import annotations

import logging
import types

import numba as nb
import pytest

from seawatch.io import jit


def _kernel(module: str, label: str | None, name: str) -> object:
    """A small numba kernel that looks as if it were defined in ``module``."""
    namespace: dict[str, object] = {"__name__": module}
    if label is not None:
        namespace["JIT_LABEL"] = label
    exec(f"def {name}(x):\n    return x + 1\n", namespace)
    function = namespace[name]
    assert isinstance(function, types.FunctionType)
    return nb.njit(function)


@pytest.fixture
def notices(caplog: pytest.LogCaptureFixture,
            monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    monkeypatch.setattr(jit, "_last", {})
    jit.announce_compiles()
    caplog.set_level(logging.INFO, logger="seawatch.jit")
    return caplog


def test_a_first_compile_is_announced_once_per_label(notices: pytest.LogCaptureFixture) -> None:
    _kernel("seawatch.fake.one", "the fake kernels", "first")(1)
    _kernel("seawatch.fake.two", "the fake kernels", "second")(1)  # within PROGRESS_EVERY_S
    assert notices.messages == ["compiling the fake kernels: first run only, cached for later runs"]


def test_a_kernel_compiling_after_a_quiet_spell_is_named(
    notices: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(jit, "_now", lambda: clock[0])
    _kernel("seawatch.fake.one", "the fake kernels", "first")(1)
    clock[0] += jit.PROGRESS_EVERY_S / 2
    _kernel("seawatch.fake.two", "the fake kernels", "second")(1)  # too soon: no line
    clock[0] += jit.PROGRESS_EVERY_S
    _kernel("seawatch.fake.three", "the fake kernels", "third")(1)
    assert notices.messages == [
        "compiling the fake kernels: first run only, cached for later runs",
        "still compiling the fake kernels (three.third)",
    ]


def test_without_a_label_the_module_names_the_kernels(notices: pytest.LogCaptureFixture) -> None:
    _kernel("seawatch.fake.three", None, "third")(1)
    assert notices.messages == [
        "compiling seawatch.fake.three: first run only, cached for later runs"
    ]


def test_kernels_outside_seawatch_and_calls_of_compiled_kernels_say_nothing(
    notices: pytest.LogCaptureFixture,
) -> None:
    _kernel("someone.else", "their kernels", "f")(1)
    kernel = _kernel("seawatch.fake.four", "the fake kernels", "g")
    kernel(1)
    kernel(2)  # compiled already: no compile, no notice
    assert notices.messages == ["compiling the fake kernels: first run only, cached for later runs"]


def test_a_long_compile_of_one_kernel_is_reported_while_it_lasts(
    notices: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numba signals only the start and the end of a compile; the heartbeat (one ``_tick``
    a beat) repeats the notice every PROGRESS_EVERY_S seconds while one kernel compiles."""
    key = "the fake kernels"
    monkeypatch.setattr(jit, "_current",
                        jit._Compile(key, key, "seawatch.fake.one", "slow", 100.0))
    monkeypatch.setattr(jit, "_last", {key: 100.0})
    for elapsed in (jit.PROGRESS_EVERY_S / 2, jit.PROGRESS_EVERY_S, jit.PROGRESS_EVERY_S * 1.5,
                    4.2):
        jit._tick(100.0 + elapsed)
    assert notices.messages == ["still compiling the fake kernels (one.slow, 2 s)",
                                "still compiling the fake kernels (one.slow, 4 s)"]
    monkeypatch.setattr(jit, "_current", None)  # nothing compiling: nothing to say
    jit._tick(200.0)
    assert len(notices.messages) == 2
