"""Durable, atomic filesystem writes: the one way every zone (raw, warehouse, releases) commits.

A zone is written under a temporary name, every file is fsynced, then one rename (or one symlink
swap) makes it visible, and the parent folder is fsynced so the rename survives a power cut.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

TMP_PREFIX = "_tmp-"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and folder below `root`, deepest first, then `root` itself."""
    for path in sorted(root.rglob("*"), reverse=True):
        (fsync_dir if path.is_dir() else fsync_file)(path)
    fsync_dir(root)


def write_durably(path: Path, data: bytes) -> None:
    """Write and fsync `path` in place: for files inside a folder that is committed by a rename later."""
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def json_bytes(document: Any) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


def write_file_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, fsync, rename over `path`, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}")
    write_durably(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def swap_symlink(link: Path, target: str) -> None:
    """Re-point `link` at `target` (relative to the link's folder) in one atomic step.

    A new symlink is made under a temporary name and renamed over the old one: a reader sees the
    old target or the new one, never a missing link.
    """
    tmp = link.with_name(f".{link.name}-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)  # relative, so the data root can move
    os.replace(tmp, link)
    fsync_dir(link.parent)
