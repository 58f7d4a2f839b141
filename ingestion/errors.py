"""Errors ingestion raises. Every message names the file, and where it can the sheet, row and column."""

from __future__ import annotations


class IngestionError(Exception):
    """Something stopped a dataset from being ingested."""


class RejectedFile(IngestionError):
    """A whole delivered file was refused (missing required column, unreadable, too big, ...).

    `batches` carries the manifests of batches committed in the same run from other files, so a
    caller that catches the error still learns what was loaded.
    """

    def __init__(self, message: str, *, batches: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.batches = batches or []
