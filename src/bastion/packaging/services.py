"""What the packaging app does: names, journal serials and the files a project's status serves.

What people do to projects asks the gate, which sits above this app: creating a project is
:mod:`bastion.authz.creation`, yanking and the owners' changes are :mod:`bastion.authz.management`.
"""

import logging
import re
from collections.abc import Sequence

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from packaging.utils import canonicalize_name, canonicalize_version

from bastion import statements
from bastion.packaging import storage
from bastion.packaging.models import File, JournalEntry, Project, ProjectStatus, Release
from bastion.packaging.signals import project_changed

logger = logging.getLogger(__name__)

_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE)


class PackagingError(Exception):
    """Bad input people read (a mistyped name, nothing to delete): ``status`` is the HTTP status,
    the message says what to do. The gate's refusals are ``authz.Refused`` instead."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def is_valid_project_name(name: str) -> bool:
    return bool(_VALID_NAME.match(name)) and name.isascii()


def normalize(name: str) -> str:
    return canonicalize_name(name)


def _project_by_name_sql(connection: BaseDatabaseWrapper) -> str:
    names = statements.column(connection, Project, "normalized_name")
    return (
        f"SELECT {statements.all_columns(connection, Project)} "  # noqa: S608 - names from _meta
        f"FROM {statements.table(connection, Project)} WHERE {names} = %s"
    )


def get_project(name: str) -> Project | None:
    """The project of this name, if any. Every upload asks this once, and every project page
    of the web UI: written out (:mod:`bastion.statements`), it costs a quarter of the ORM's CPU."""
    connection = connections[router.db_for_read(Project)]
    row = statements.fetch_one(connection, _project_by_name_sql(connection), [normalize(name)])
    return None if row is None else statements.instance(connection, Project, row)


def journal(project: Project, action: str, *, version: str = "", user=None) -> int:
    """Record a change and bump the project's serial; pages are re-rendered after commit."""
    return journal_all(project, [(action, version)], user=user)


def journal_all(
    project: Project, changes: Sequence[tuple[str, str]], *, user=None, status: str = ""
) -> int:
    """Record changes (action, version) of one project in this order, with one insert and one
    bump of the serial to the last entry's: an upload journals two to four at once.

    ``status`` is the project's status as this transaction leaves it, given only by a caller
    that read it under the project row's lock in this transaction (an upload): the files are
    then placed for it after the commit without reading it again. Without it, the receivers
    read the status once the change has committed.
    """
    with transaction.atomic(savepoint=False):  # the lock lasts to the end of the transaction
        _take_serials_in_commit_order(project)
        entries = JournalEntry.objects.bulk_create(
            JournalEntry(
                project_name=project.normalized_name,
                action=action,
                version=version,
                submitted_by=user,
            )
            for action, version in changes
        )
        serial = max(entry.pk for entry in entries)
        Project.objects.filter(pk=project.pk).update(last_serial=serial)
    project.last_serial = serial
    _announce_after_commit(project.normalized_name, status)
    return serial


#: The PostgreSQL advisory lock that orders journal writes ("journal" as a number).
JOURNAL_LOCK = int.from_bytes(b"journal", "big")


def _take_serials_in_commit_order(project: Project) -> None:
    """Hold the journal's lock until this transaction ends, so serials follow commit order.

    A serial is the journal entry's key, handed out when the row is inserted, while transactions
    may commit in another order: one that took serial 91 and committed after one that took 95
    would never be seen by whatever reads "every entry after 95" (the project list's catch-up,
    every server's serial check). PostgreSQL's advisory lock makes the second writer wait for the
    first one's commit; SQLite already lets one transaction write at a time. Writers journal as
    the last thing before they commit, so the lock is held for a few statements.

    The project's row is locked first, in the same statement: an upload holds that row while it
    records and then journals, so a writer taking the journal's lock before the row (a yank,
    which updates the row after journalling) would wait for the upload while it waits for the
    journal: a deadlock.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_lock_row_then_journal_sql(connection), [JOURNAL_LOCK, project.pk])


def _lock_row_then_journal_sql(connection: BaseDatabaseWrapper) -> str:
    """The row lock sits below the aggregate, so it is taken before the advisory lock, which
    the one row of the aggregate then takes even when the project row is gone."""
    table, key = statements.table(connection, Project), statements.column(connection, Project, "id")
    locked_row = f"SELECT {key} FROM {table} WHERE {key} = %s FOR UPDATE"  # noqa: S608 - _meta
    return f"SELECT pg_advisory_xact_lock(%s) FROM (SELECT count(*) FROM ({locked_row}) r) n"  # noqa: S608


class _Announcement:
    """Sends ``project_changed`` for one project once the transaction has committed, unless a
    later announcement of the same project in the same transaction superseded it."""

    def __init__(self, normalized_name: str, status: str):
        self.normalized_name = normalized_name
        self.status = status
        self.superseded = False

    def __call__(self) -> None:
        if not self.superseded:
            project_changed.send(
                sender=Project, normalized_name=self.normalized_name, status=self.status
            )


def _announce_after_commit(normalized_name: str, status: str = "") -> None:
    """Announce a change once per transaction, however many entries it journals.

    An upload journals up to four (the project, its owner, the release, the file), and each
    announcement re-reads the project in every receiver. The new announcement supersedes those
    pending for this project that were registered at this savepoint level or in savepoints
    released into it: a rollback drops those and the new one together, or none of them.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        level = set(connection.savepoint_ids)
        # Django's pending callbacks, each with the savepoints open when it was registered;
        # tests/packaging/test_journal.py fails if that shape changes.
        for sids, callback, _ in connection.run_on_commit:
            if (
                isinstance(callback, _Announcement)
                and callback.normalized_name == normalized_name
                and sids >= level
            ):
                callback.superseded = True
    transaction.on_commit(_Announcement(normalized_name, status))


def place_files_for_status(*, normalized_name: str, status: str = "", **_signal_kwargs) -> None:
    """``project_changed`` receiver: a quarantined project offers no files (PEP 792), so its
    files leave the served directory, and they come back when the quarantine ends. ``status``
    is the one the change committed with, when it read it under the row's lock (an upload);
    otherwise it is read now (the project may be gone)."""
    try:
        if not status:
            named = Project.objects.filter(normalized_name=normalized_name)
            status = next(iter(named.values_list("status", flat=True).order_by()), "")
        if not status:
            return
        if status != ProjectStatus.QUARANTINED:
            storage.restore(normalized_name)
            return
        stored = File.objects.filter(release__project__normalized_name=normalized_name).values_list(
            "path", "metadata_path"
        )
        storage.withhold(normalized_name, [key for keys in stored for key in keys if key])
    except Exception:
        logger.exception("could not place the files of %s for its status", normalized_name)


def last_serial() -> int:
    latest = JournalEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    return latest or 0


def find_release(project: Project, version: str) -> Release | None:
    return project.releases.filter(canonical_version=canonicalize_version(version)).first()
