"""Removing stored bytes that no row owns: what a crash, a kill or a lost disk write left behind.

Uploads publish their bytes only inside the transaction that commits their row, and delete their
staged copies when they fail, so in normal operation nothing is orphaned. A server killed in the
middle of an upload is the exception: Django's spooled request body (``uploads/tmp/``), the staged
bytes (``uploads/staged/``), an older release's ``.incoming-*`` partials, or (killed between the
rename and the commit) a published file without its row. This collects them all.

Only what is older than a safety delay is touched: a younger file may belong to an upload still in
flight. Stored files are matched against the rows' keys, never by content hash alone, so a file
that an existing row points at is never removed. The unit is the storage key, so the same rules
fit an object store (list keys, compare with the rows, delete the old unowned ones): the stored
files come from the configured backend, the upload temporaries are always local.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from time import time

from django.conf import settings
from django.db.models import Q

from bastion.packaging import storage
from bastion.packaging.models import File
from bastion.packaging.storage import StoredObject

#: The default safety delay: longer than any upload may take to arrive and commit.
DEFAULT_MIN_AGE = timedelta(hours=24)
_BATCH = 500


@dataclass
class GcReport:
    removed: list[str] = field(default_factory=list)  # data directory paths, or s3:// names
    removed_bytes: int = 0
    kept_young: int = 0  # orphan candidates inside the safety delay, left for the next run

    def as_dict(self) -> dict:
        return {
            "removed": self.removed,
            "removed_bytes": self.removed_bytes,
            "kept_young": self.kept_young,
        }


def _files_under(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for directory, _, names in os.walk(root):
        for name in names:
            yield Path(directory, name)


def _owned_keys(keys: list[str]) -> set[str]:
    """Those of ``keys`` that a row points at, as its file or its ``.metadata``."""
    owned: set[str] = set()
    for start in range(0, len(keys), _BATCH):
        batch = keys[start : start + _BATCH]
        rows = File.objects.filter(Q(path__in=batch) | Q(metadata_path__in=batch))
        for path, metadata_path in rows.values_list("path", "metadata_path"):
            owned.update((path, metadata_path))
    return owned


class _Collector:
    def __init__(self, min_age: timedelta, dry_run: bool):
        self.cutoff = time() - min_age.total_seconds()
        self.dry_run = dry_run
        self.report = GcReport()

    def clear_old(self, directory: Path) -> None:
        """Everything old in a local directory of in-flight uploads: none of it is ever kept."""
        for path in _files_under(directory):
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            self.remove_if_old(
                StoredObject(
                    key="",
                    name=os.path.relpath(path, settings.DATA_DIR),
                    modified=info.st_mtime,
                    size=info.st_size,
                    partial=True,
                ),
                storage.LocalBackend(),
            )

    def clear_unowned(self, backend: storage.Backend) -> None:
        """Stored files, public or withheld, that no row points at, and interrupted writes.

        Files cached from the upstream index have no row of an upload; their cache evicts them.
        """
        candidates: list[StoredObject] = []
        for stored in backend.objects():
            if stored.partial:  # a partial write: never anyone's
                self.remove_if_old(stored, backend)
            elif not stored.key.startswith(storage.UPSTREAM_PREFIX):
                candidates.append(stored)
        owned = _owned_keys(sorted({stored.key for stored in candidates}))
        for stored in candidates:
            if stored.key not in owned:
                self.remove_if_old(stored, backend)

    def remove_if_old(self, stored: StoredObject, backend: storage.Backend) -> None:
        if stored.modified > self.cutoff:
            self.report.kept_young += 1
            return
        if not self.dry_run:
            backend.remove(stored)
        self.report.removed.append(stored.name)
        self.report.removed_bytes += stored.size


def collect_garbage(min_age: timedelta = DEFAULT_MIN_AGE, *, dry_run: bool = False) -> GcReport:
    """Remove orphaned stored files, partials and dead upload temporaries older than ``min_age``."""
    collector = _Collector(min_age, dry_run)
    collector.clear_old(Path(settings.FILE_UPLOAD_TEMP_DIR))
    collector.clear_old(Path(settings.UPLOAD_STAGING_DIR))
    collector.clear_unowned(storage.backend())
    return collector.report
