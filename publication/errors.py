"""Errors raised by the publication gates and the release steps."""

from __future__ import annotations

from pathlib import Path


class PublicationError(Exception):
    """Base class: something stopped a release."""


class SuiteError(PublicationError):
    """An expectation suite file is missing or invalid; the message names the file and the entry."""


class ReleaseError(PublicationError):
    """A release step was asked to do something it must not do (unknown id, unpublished candidate...)."""


class GateFailed(PublicationError):
    """A candidate release failed one or more gates and was moved to `releases/_rejected/`.

    `failures` holds one line per failed check (publication, gate, expectation or column, observed value).
    """

    def __init__(self, release_id: str, failures: list[str], path: Path) -> None:
        self.release_id = release_id
        self.failures = list(failures)
        self.path = path
        lines = "\n  - ".join(self.failures)
        count = len(self.failures)
        super().__init__(
            f"release {release_id} blocked by {count} failed check(s) (candidate kept at {path}):\n  - {lines}"
        )
