"""Quarantine reasons (seawatch.io.quarantine): one definition, which the decoding kernels use.

The kernels write status codes into arrays that the reader turns back into reasons with
``Reason(code)``. Every value a kernel stores as a status must therefore be ``OK`` or a member
of ``Reason``, never a number of its own: this reads the kernels' source to check it.
"""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

import pytest

from seawatch.io.nmea import assembly, decode_lines, framing, payload
from seawatch.io.quarantine import OK, QuarantineLog, Reason

KERNELS = (framing, assembly, payload)
STATUS_TARGETS = {"status", "s_status", "q_reason"}
"""Names of the variables and arrays the kernels hold status codes in."""
PASSED_ON = {"status"}
"""Variables whose values come from a checked assignment and are passed on."""


def emitted_codes(module: ModuleType) -> list[tuple[int, ast.expr]]:
    """Every (line, value) a kernel module stores as a status code."""
    found: list[tuple[int, ast.expr]] = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                base = target.value if isinstance(target, ast.Subscript) else target
                if isinstance(base, ast.Name) and base.id in STATUS_TARGETS and node.value:
                    found.append((node.lineno, node.value))
    return found


def named_reason(value: ast.expr) -> bool:
    """``value`` is ``OK``, ``Reason.<member>``, a passed-on status, or a choice of those."""
    if isinstance(value, ast.IfExp):
        return named_reason(value.body) and named_reason(value.orelse)
    if isinstance(value, ast.Name):
        return value.id == "OK" or value.id in PASSED_ON
    return (
        isinstance(value, ast.Attribute)
        and isinstance(value.value, ast.Name)
        and value.value.id == "Reason"
        and value.attr in Reason.__members__
    )


@pytest.mark.parametrize("module", KERNELS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_code_a_kernel_emits_is_a_reason(module: ModuleType) -> None:
    codes = emitted_codes(module)
    assert codes, f"{module.__name__}: no status assignment found; update this test"
    bare = [
        f"{module.__name__}:{line}: {ast.unparse(value)}"
        for line, value in codes
        if not named_reason(value)
    ]
    assert bare == [], "status codes that are not OK or a Reason member"
    reasons = {n.attr for _, v in codes for n in ast.walk(v) if isinstance(n, ast.Attribute)}
    assert reasons, f"{module.__name__} emits no reason"


def test_codes_are_distinct_and_none_is_ok() -> None:
    codes = [int(r) for r in Reason]
    assert len(set(codes)) == len(codes)
    assert OK not in codes
    assert all(Reason(code).label == Reason(code).name.lower() for code in codes)


def test_kernel_codes_come_back_as_their_reasons() -> None:
    lines = [
        "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5D",  # bad checksum (framing)
        "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,7*5B",  # fill bits 7 (framing)
        "!AIVDM,2,2,3,B,00000000000,2*24",  # second fragment with no first (assembly)
        "!AIVDM,1,1,,B,15M67F,0*2B",  # a type 1 message of 36 bits (payload)
    ]
    result = decode_lines(lines, default_time="2024-01-01T00:00:00Z")
    assert set(result.quarantine_counts) == {
        Reason.BAD_CHECKSUM.label,
        Reason.BAD_FILL_BITS.label,
        Reason.ORPHAN_FRAGMENT.label,
        Reason.WRONG_LENGTH.label,
    }


def test_log_counts_by_label() -> None:
    log = QuarantineLog(sample_per_reason=1)
    log.add(Reason.MALFORMED, "f", 1, "x")
    log.add(Reason.MALFORMED, "f", 2, "y")
    log.add_count(Reason.NO_TIME, 3)
    assert log.counts == {"malformed": 2, "no_time": 3}
    assert log.frame()["line_no"].to_list() == [1]
