"""Connector kinds: one small module per `source.kind` in the catalog.

A kind module exposes `pending_sources(entry, zones, is_known) -> Iterator[Pending]`: the new
deliveries it finds, oldest first, skipping those `is_known(sha256)` says were already committed or
rejected. `ingestion.extract.extract_load` checks and lands each one; a kind never writes the raw zone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from ingestion.contract import Delivery
from ingestion.errors import IngestionError

KINDS: dict[str, str] = {
    "file": "ingestion.kinds.file",
}


@dataclass(frozen=True)
class Pending:
    """A delivery not yet in the ledger: the manifest's `source` block, and how to read it."""

    source: dict
    read: Callable[[], Delivery]  # raises RejectedFile when the delivery is refused as a whole

    @property
    def sha256(self) -> str:
        return self.source["sha256"]

    @property
    def path(self) -> str:
        return self.source["path"]


def kind_module(kind: str) -> ModuleType:
    """The module implementing a connector kind."""
    if kind not in KINDS:
        raise IngestionError(f"no connector for source kind '{kind}' (known: {', '.join(sorted(KINDS))})")
    return importlib.import_module(KINDS[kind])
