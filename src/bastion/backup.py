"""``bastion backup`` and ``bastion restore``: the database and the data files, consistent.

Order makes the copy consistent without stopping the index. The database is copied first, then
the trees of files: stored files are content-addressed and never rewritten, so files copied after
the database are a superset of what its rows name (an extra file is an orphan ``bastion storage
gc`` removes). The download statistics are copied under the downloads maintenance lock, held from
before the database copy until after theirs: no import or rollup runs in between, so the rows
that say which partitions are imported and current match the partitions copied.

Not copied: the rendered pages (re-rendered from the database on restore), upload temporaries,
the metrics directory and the mail outbox.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from bastion import datadir
from bastion.downloads import store
from bastion.simple import services

FORMAT = 1
MANIFEST = "bastion-backup.json"
SQLITE_FILE = "database.sqlite3"
POSTGRESQL_FILE = "database.pgdump"
#: What a backup holds besides the database. ``files`` is public (``bastion.datadir``).
TREES = ("files", "withheld", "downloads")
#: The order of copying after the database. Quarantine moves files between ``files`` and
#: ``withheld`` at any time: withheld before and after files, so a moved file is in one of them.
BACKUP_ORDER = ("withheld", "files", "withheld", "downloads")
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


class BackupError(Exception):
    """Something an operator must fix; the message says what."""


@dataclass(frozen=True)
class Report:
    directory: str
    database: str
    files: int
    bytes: int


def backup(target: Path) -> Report:
    """Write a backup of this installation into ``target`` (new or empty)."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new directory")
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    with store.maintenance_lock():
        database = _dump_database(target)
        files, size = 0, 0
        for tree in BACKUP_ORDER:
            copied, copied_bytes = _copy_tree(Path(settings.DATA_DIR) / tree, target / tree)
            files, size = files + copied, size + copied_bytes
    secret = Path(settings.DATA_DIR) / SECRET_KEY_FILE
    if secret.is_file():  # sessions, signed links and reset tokens depend on it
        shutil.copy2(secret, target / SECRET_KEY_FILE)
    report = Report(str(target), database, files, size)
    manifest = {"format": FORMAT, "created": datetime.now(UTC).isoformat(), **asdict(report)}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return report


def restore(source: Path, *, force: bool = False) -> Report:
    """Load a backup into the configured database and data directory, then render the pages."""
    source = Path(source)
    manifest = _manifest(source)
    if not force and _has_tables():
        raise BackupError(
            "the configured database already holds an installation: restore into an empty "
            "one, or pass --force to replace it"
        )
    _load_database(source, manifest["database"])
    data_dir = Path(settings.DATA_DIR)
    files, size = 0, 0
    for tree in TREES:
        copied, copied_bytes = _copy_tree(source / tree, data_dir / tree)
        files, size = files + copied, size + copied_bytes
    _make_public(data_dir / "files")
    if (source / SECRET_KEY_FILE).is_file() and not os.environ.get("BASTION_SECRET_KEY"):
        shutil.copy2(source / SECRET_KEY_FILE, data_dir / SECRET_KEY_FILE)
    _migrate_and_render()
    return Report(str(source), manifest["database"], files, size)


def _manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{source} is not a Bastion backup ({MANIFEST}: {error})") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} has backup format {manifest.get('format')}, not {FORMAT}")
    return manifest


def _has_tables() -> bool:
    return "django_migrations" in connection.introspection.table_names()


def _dump_database(target: Path) -> str:
    if connection.vendor == "sqlite":
        # SQLite's online backup: a consistent copy while the servers keep writing.
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
        destination = sqlite3.connect(target / SQLITE_FILE)
        with source, destination:
            source.backup(destination)
        source.close()
        destination.close()
        return "sqlite"
    if connection.vendor == "postgresql":
        _run_pg("pg_dump", "--format=custom", "--no-owner", f"--file={target / POSTGRESQL_FILE}")
        return "postgresql"
    raise BackupError(f"cannot back up a {connection.vendor} database")


def _load_database(source: Path, vendor: str) -> None:
    if vendor != connection.vendor:
        raise BackupError(
            f"the backup holds a {vendor} database but {connection.vendor} is configured: "
            "restore into the same kind of database (BASTION_DATABASE_URL)"
        )
    connections.close_all()
    if vendor == "sqlite":
        path = Path(settings.DATABASES["default"]["NAME"])
        backup_db = sqlite3.connect(source / SQLITE_FILE)
        live = sqlite3.connect(path)
        with backup_db, live:
            backup_db.backup(live)  # replaces every page, under SQLite's own locks
        backup_db.close()
        live.close()
        return
    _run_pg(
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        str(source / POSTGRESQL_FILE),
    )


def _run_pg(program: str, *arguments: str) -> None:
    """``pg_dump``/``pg_restore`` against the configured database; the password via PGPASSWORD."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    command = [program, f"--dbname={db['NAME']}", *arguments]
    if db.get("HOST"):
        command.append(f"--host={db['HOST']}")
    if db.get("PORT"):
        command.append(f"--port={db['PORT']}")
    if db.get("USER"):
        command.append(f"--username={db['USER']}")
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise BackupError(f"{program} is not installed (PostgreSQL's client tools)") from error
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()}")


def _copy_tree(source: Path, target: Path) -> tuple[int, int]:
    """Copy the files not yet in ``target``; skip dot-files (writes in flight) and the lock.

    A copy is made under a dot-name and renamed, so a copy interrupted midway is never taken for
    a whole file by the next pass or a restore."""
    files, size = 0, 0
    if not source.is_dir():
        return files, size
    for directory, subdirectories, names in os.walk(source):
        subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
        here = target / Path(directory).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in names:
            if name.startswith(".") or name == "maintenance.lock" or (here / name).exists():
                continue  # every file kept here is immutable: one already copied is whole
            try:
                shutil.copy2(Path(directory) / name, here / f".{name}.partial")
            except FileNotFoundError:
                continue  # moved meanwhile (quarantine): the next pass finds it
            os.rename(here / f".{name}.partial", here / name)
            files += 1
            size += (here / name).stat().st_size
    return files, size


def _make_public(tree: Path) -> None:
    """Restored files are readable by a static server again, as ``bastion.datadir`` makes them."""
    if not tree.is_dir():
        return
    os.chmod(tree, datadir.PUBLIC_DIR_MODE)
    for directory, _subdirectories, names in os.walk(tree):
        os.chmod(directory, datadir.PUBLIC_DIR_MODE)
        for name in names:
            os.chmod(Path(directory) / name, datadir.PUBLIC_FILE_MODE)


def _migrate_and_render() -> None:
    call_command("migrate", interactive=False, verbosity=0)  # a backup from an older release
    call_command("createcachetable", verbosity=0)
    services.render_all()
