"""Detector parameters: one section per parameter model, loaded from a TOML file.

Every threshold of every detector is a field of its parameter model (the registry's, plus
``[ports]``, :class:`seawatch.detect.ports.PortsParams`, and ``[segment]``,
:class:`seawatch.tracks.segment.SegmentParams`), whose default is written once, there. A
config file overrides any of them, one TOML table per section::

    [gap]
    min_gap_h = 6            # the common "potential dark activity" setting

    [port_visit]
    entry_km = 2.5
    min_duration = "45min"

Sections (:data:`SECTIONS`): ``[ports]``, ``[segment]``, ``[spoofing]``, ``[gap]``,
``[encounter]``, ``[loitering]``, ``[zone]``, ``[fishing_in_zone]``, ``[port_visit]``,
``[identity]``, ``[type_mismatch]``,
``[installations]``. An
unknown section or key, a value of the wrong type or a duration that cannot be read is an
error naming the file, the section and the key and saying what is valid, so a typo never
silently falls back to a default. Durations are text (``"90min"``, ``"1h30m"``, ``"2h"``,
``"1d"``) or a number of hours. ``docs/detect-config.toml`` is every section at its defaults,
with what each parameter means (:func:`example_toml` writes it).

Examples
--------
>>> cfg = DetectConfig.from_dict({"gap": {"min_gap_h": 6}})
>>> cfg.gap.min_gap_h, cfg.port_visit.entry_km
(6, 3.0)
>>> DetectConfig.from_dict({"gap": {"min_gap": 6}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
seawatch.params.ConfigError: config: unknown key 'min_gap' in [gap]; valid keys: ...
"""

from __future__ import annotations

import json
import re
import textwrap
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seawatch.detect.installations import InstallationsParams
from seawatch.detect.ports import PortsParams
from seawatch.detect.registry import DETECTORS
from seawatch.params import ConfigError, Params, build_params, example_of, reference_of
from seawatch.tracks.segment import SegmentParams

__all__ = ["SECTIONS", "ConfigError", "DetectConfig", "example_toml", "load_config"]

SECTIONS: dict[str, type[Params]] = {
    "ports": PortsParams,
    "segment": SegmentParams,
    **{d.name: d.params for d in DETECTORS},
    "installations": InstallationsParams,
}
"""TOML section -> parameter model: the port list, segmentation, every detector of the
registry (:data:`seawatch.detect.registry.DETECTORS`) in the order they run, then the
installations step (:class:`seawatch.detect.installations.InstallationsParams`)."""


class DetectConfig:
    """Parameters of every section (defaults: the models').

    Build it with :meth:`from_toml` (a file) or :meth:`from_dict`; ``DetectConfig()`` is all
    defaults, and ``DetectConfig(gap=GapParams(min_gap_h=6))`` sets sections from models.
    Each section is an attribute (``cfg.gap.min_gap_h``).

    Raises
    ------
    ConfigError
        An unknown section, or a section that is not its model.
    """

    __slots__ = ("_sections",)

    def __init__(self, **sections: Params) -> None:
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"unknown section(s) {unknown}; valid: {', '.join(SECTIONS)}")
        for name, value in sections.items():
            if not isinstance(value, SECTIONS[name]):
                raise ConfigError(
                    f"section {name} must be a {SECTIONS[name].__name__}, "
                    f"not {type(value).__name__}"
                )
        self._sections: dict[str, Params] = {
            name: sections[name] if name in sections else model()
            for name, model in SECTIONS.items()
        }

    def __getattr__(self, name: str) -> Any:
        try:
            return self.section(name)
        except ConfigError:
            raise AttributeError(name) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DetectConfig) and self._sections == other._sections

    def __repr__(self) -> str:
        changed = {s: self.explicit(s) for s in SECTIONS}
        return f"DetectConfig({', '.join(f'{s}={v!r}' for s, v in changed.items() if v)})"

    def section(self, name: str) -> Params:
        """The parameters of section ``name``."""
        if name not in SECTIONS:
            raise ConfigError(f"unknown section {name!r}; valid: {', '.join(SECTIONS)}")
        return self._sections[name]

    def params(self, section: str) -> dict[str, Any]:
        """One section's parameters as a dict (as written: durations stay text)."""
        return self.section(section).model_dump()

    def explicit(self, section: str) -> dict[str, Any]:
        """The parameters of ``section`` that differ from their defaults."""
        default = SECTIONS[section]().model_dump()
        return {k: v for k, v in self.params(section).items() if default[k] != v}

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Every section's parameters (what a run records with its events)."""
        return {name: self.params(name) for name in SECTIONS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "config") -> DetectConfig:
        """Build from a mapping of sections (as a TOML file reads).

        Raises
        ------
        ConfigError
            An unknown section or key (naming the valid ones), or a value of the wrong type.
        """
        sections: dict[str, Params] = {}
        for name, values in data.items():
            if name not in SECTIONS:
                raise ConfigError(
                    f"{where}: unknown section [{name}]; valid sections: {', '.join(SECTIONS)}"
                )
            if not isinstance(values, Mapping):
                raise ConfigError(f"{where}: [{name}] must be a table of parameters")
            sections[name] = build_params(SECTIONS[name], values, origin=where, section=name)
        return cls(**sections)

    @classmethod
    def from_toml(cls, path: str | Path) -> DetectConfig:
        """Read a TOML config file (see the module docstring).

        Raises
        ------
        ConfigError
            The file is missing or not TOML, or holds an unknown section or key or a value
            of the wrong type.
        """
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        return cls.from_dict(data, where=str(path))


def load_config(path: str | Path | None) -> DetectConfig:
    """:meth:`DetectConfig.from_toml`, or the defaults when ``path`` is None."""
    return DetectConfig() if path is None else DetectConfig.from_toml(path)


EXAMPLE_HEADER = """\
# seawatch detector parameters, every one at its default (seawatch detect --config FILE).
#
# One table per section; a parameter left out keeps its default, so a config file needs only
# the lines it changes. Durations are text ("30m", "90min", "1h30m", "2h", "1d") or a number
# of hours. Definitions: docs/detectors.md. Written by seawatch.detect.config.example_toml().
"""


def example_toml() -> str:
    """A TOML config with every section and parameter at its default, each described.

    ``docs/detect-config.toml`` is this text; loading it gives the defaults.

    >>> text = example_toml()
    >>> DetectConfig.from_dict(tomllib.loads(text)) == DetectConfig()
    True
    >>> "min_gap_h = 12.0" in text and '# kinds = ["mpa", "territorial_sea"]' in text
    True
    """
    parts = [EXAMPLE_HEADER]
    for name, model in SECTIONS.items():
        lines = [f"[{name}]", *_comment(_first_line(model.__doc__))]
        for key, field in model.model_fields.items():
            lines.append("")
            lines += _comment(f"{field.description} Reference: {reference_of(field)}.")
            default = field.get_default(call_default_factory=True)
            if default is None:
                example = _toml(example_of(field))
                lines.append(f"# {key} = {example}   (an example; not set by default)")
            else:
                lines.append(f"{key} = {_toml(default)}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _first_line(doc: str | None) -> str:
    """The first paragraph of a docstring as plain text (no reST roles or literals)."""
    text = (doc or "").strip().split("\n\n")[0].replace("\n", " ")
    return re.sub(r":\w+:`~?([^`]*)`", r"\1", text).replace("``", "")


def _comment(text: str) -> list[str]:
    return textwrap.wrap(
        text, width=98, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False
    )


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def parameter_table(section: str) -> str:
    """The Markdown table of one section's parameters, as docs/detectors.md shows it.

    >>> print(parameter_table("gap").splitlines()[2])  # doctest: +ELLIPSIS
    | `min_gap_h` | 12.0 | Consecutive positions more than this many hours apart ...
    """
    rows = ["| parameter | default | meaning | reference |", "|---|---|---|---|"]
    for key, field in SECTIONS[section].model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "not set" if default is None else f"`{_toml(default)}`"
        if isinstance(default, float | int) and not isinstance(default, bool):
            shown = _toml(default)
        rows.append(f"| `{key}` | {shown} | {field.description} | {reference_of(field)} |")
    return "\n".join(rows)
