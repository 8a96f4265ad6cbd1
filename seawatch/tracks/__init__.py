"""Tracks: clean positions and split each vessel's positions into segments.

Pure functions of a positions table (``seawatch.schema.POSITIONS``) returning a table.
"""
