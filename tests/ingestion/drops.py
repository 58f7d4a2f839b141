"""Helpers for ingestion tests: settled drops and catalog entries with changed settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ingestion.catalog import DatasetEntry


def age(path: Path, seconds: float = 10.0) -> Path:
    """Make a dropped file look settled (written `seconds` ago), so the reader does not wait for it."""
    moment = time.time() - seconds
    os.utime(path, (moment, moment))
    return path


def with_changes(entry: DatasetEntry, *, source: dict | None = None, contract: dict | None = None) -> DatasetEntry:
    """A copy of a catalog entry with some source or contract settings changed."""
    spec = entry.spec
    if source:
        spec = spec.model_copy(update={"source": spec.source.model_copy(update=source)})
    if contract:
        spec = spec.model_copy(update={"contract": spec.contract.model_copy(update=contract)})
    return DatasetEntry(entry.agency, entry.name, spec, entry.path)
