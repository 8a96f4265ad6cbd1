"""Detectors: one module per behaviour, a registry of them, and one pipeline that runs them.

Each detector module (``gap``, ``spoofing``, ``encounter``, ``loitering``, ``zone_crossing``,
``fishing_in_zone``, ``port_visit``) holds its definition, its parameter model (defaults
written once, :mod:`seawatch.params`), a public function that reads like the
definition (``detect_gaps(segmented, min_gap_h=6)``) and its ``DETECTOR`` entry
(:mod:`seawatch.detect.detector`). :mod:`seawatch.detect.registry` lists them in the order
they run; :mod:`seawatch.detect.pipeline` runs them over positions in chunks of vessels
(:mod:`seawatch.detect.chunks`, with the ports of :mod:`seawatch.detect.ports` and the
tracks of :mod:`seawatch.detect.positions`); :mod:`seawatch.detect.run` is the front door
(``detect_all`` for a table, ``detect_store`` for a store) and :mod:`seawatch.detect.config`
the config file checked against the models.

The definitions, with every parameter and its reference, are in ``docs/detectors.md``;
``events.to_events`` gives every detector's output the columns of ``seawatch.schema.EVENTS``.
"""
