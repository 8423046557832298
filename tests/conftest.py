"""Imported before pytester's in-process runs snapshot sys.modules: PyYAML's C loader keeps the classes of its first
import, so a yaml first imported inside such a run, and dropped after it, would fail to load anything once imported
again ("could not determine a constructor for the tag None")."""

import yaml  # noqa: F401
