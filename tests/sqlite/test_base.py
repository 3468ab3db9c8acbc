"""The embedded database's writers queue on the writer lock, and SQLite's own locks still hold."""

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError

from bastion.sqlite.base import DatabaseWrapper

HOLD = 0.3  # long enough that a writer that did not wait would be seen going first


def _wrapper(path: Path, timeout: float = 5) -> DatabaseWrapper:
    """A connection as Django's handler would make it, for a database of the test's own."""
    settings = {
        "ENGINE": "bastion.sqlite", "NAME": str(path), "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "TIME_ZONE": None,
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": timeout},
        "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "TEST": {},
    }  # fmt: skip
    return DatabaseWrapper(settings, alias=f"writer-{path.name}")


def _begin(wrapper: DatabaseWrapper) -> None:
    """What ``transaction.atomic`` does first: ``BEGIN IMMEDIATE`` under autocommit."""
    wrapper.ensure_connection()
    wrapper._start_transaction_under_autocommit()


def _write(wrapper: DatabaseWrapper, value: str) -> None:
    _begin(wrapper)
    with wrapper.cursor() as cursor:
        cursor.execute("INSERT INTO log (value) VALUES (%s)", [value])
    wrapper.commit()


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    """These tests open connections of their own, to databases of their own."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, value TEXT)")
    return path


def _log(path: Path) -> list[str]:
    with sqlite3.connect(path) as reader:
        return [row[0] for row in reader.execute("SELECT value FROM log ORDER BY id")]


def _lock_file(database: Path) -> Path:
    return database.with_name(database.name + "-writer.lock")


def _file_lock_is_free(database: Path) -> bool:
    descriptor = os.open(_lock_file(database), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


def test_a_transaction_holds_the_lock_file_until_it_commits(database):
    writer = _wrapper(database)
    _begin(writer)
    assert not _file_lock_is_free(database)

    writer.commit()

    assert _file_lock_is_free(database)
    writer.close()


def test_a_writer_queues_on_the_lock_file_even_while_sqlite_is_free(database):
    """What another process's writer does while this one holds the lock: wait for the file."""
    descriptor = os.open(_lock_file(database), os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    writer = _wrapper(database, timeout=HOLD)
    with pytest.raises(OperationalError, match="database is locked"):
        _begin(writer)

    os.close(descriptor)
    _write(writer, "once the file was free")

    assert _log(database) == ["once the file was free"]
    writer.close()


def test_a_second_writer_starts_only_after_the_first_commits(database):
    first = _wrapper(database)
    _begin(first)
    with first.cursor() as cursor:
        cursor.execute("INSERT INTO log (value) VALUES ('first')")

    def second() -> None:  # a connection belongs to its thread
        writer = _wrapper(database)
        _write(writer, "second")
        writer.close()

    waited = threading.Thread(target=second)
    waited.start()
    time.sleep(HOLD)
    assert waited.is_alive(), "the second writer did not wait for the first"
    first.commit()
    waited.join(timeout=5)
    first.close()

    assert not waited.is_alive()
    assert _log(database) == ["first", "second"]


def test_a_write_outside_a_transaction_queues_on_the_lock_file_too(database):
    """An autocommit UPDATE or INSERT (the rate limits' counters) is a transaction of its own:
    it waits for the lock file, not in SQLite's sleeping busy handler; a read does not wait."""
    descriptor = os.open(_lock_file(database), os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    writer = _wrapper(database, timeout=HOLD)
    writer.ensure_connection()
    with writer.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM log")  # SQLite is free: a read goes on
        with pytest.raises(OperationalError, match="database is locked"):
            cursor.execute("  insert INTO log (value) VALUES (%s)", ["while the file was held"])
        with pytest.raises(OperationalError, match="database is locked"):
            cursor.executemany("INSERT INTO log (value) VALUES (%s)", [["a"], ["b"]])

    os.close(descriptor)
    with writer.cursor() as cursor:
        cursor.execute("INSERT INTO log (value) VALUES (%s)", ["once the file was free"])

    assert _log(database) == ["once the file was free"]
    assert _file_lock_is_free(database)
    writer.close()


def test_a_write_inside_a_transaction_does_not_take_the_lock_again(database):
    writer = _wrapper(database, timeout=HOLD)
    _write(writer, "in a transaction")  # the thread lock is not re-entrant: this would time out

    assert _log(database) == ["in a transaction"]
    writer.close()


def test_a_rolled_back_transaction_releases_the_lock(database):
    first, second = _wrapper(database), _wrapper(database, timeout=HOLD)
    _begin(first)
    first.rollback()

    _write(second, "after")

    assert _log(database) == ["after"]
    first.close()
    second.close()


def test_a_writer_that_waits_past_the_timeout_fails_as_sqlite_would(database):
    holder = _wrapper(database)
    _begin(holder)
    errors = []

    def wait() -> None:
        waiter = _wrapper(database, timeout=HOLD)
        try:
            _begin(waiter)
        except OperationalError as exc:
            errors.append(str(exc))
        finally:
            waiter.close()

    started = time.monotonic()
    thread = threading.Thread(target=wait)
    thread.start()
    thread.join(timeout=5)
    holder.rollback()
    holder.close()

    assert errors == ["database is locked"]
    assert time.monotonic() - started >= HOLD


def test_a_closed_connection_gives_its_lock_back(database):
    holder, next_writer = _wrapper(database), _wrapper(database, timeout=HOLD)
    _begin(holder)
    holder.close()  # a connection dropped mid-transaction (an error, a worker's end)

    _write(next_writer, "next")

    assert _log(database) == ["next"]
    next_writer.close()


HOLDER = """
import sys
sys.path[:0] = {paths!r}
from tests.sqlite.test_base import _begin, _wrapper
from pathlib import Path
holder = _wrapper(Path(sys.argv[1]))
_begin(holder)
print("holding", flush=True)
sys.stdin.read()  # until the test closes our standard input
holder.rollback()
"""


def test_writers_in_other_processes_wait_too(database):
    """The server's workers are processes: the lock file orders them, not the thread lock."""
    script = HOLDER.format(paths=sys.path)
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(database)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": ""},
    )  # fmt: skip
    assert holder.stdout.readline() == "holding\n"
    waiter = _wrapper(database, timeout=HOLD)
    with pytest.raises(OperationalError, match="database is locked"):
        _begin(waiter)

    holder.communicate("", timeout=10)
    _write(waiter, "after the other process")

    assert _log(database) == ["after the other process"]
    waiter.close()


def test_a_writer_outside_the_backend_still_keeps_others_out(database):
    """SQLite's own lock decides what is safe; a refused BEGIN leaves the writer lock free."""
    outsider = sqlite3.connect(database, isolation_level=None)
    outsider.execute("BEGIN IMMEDIATE")
    blocked, then = _wrapper(database, timeout=0.1), _wrapper(database, timeout=HOLD)

    with pytest.raises(OperationalError, match="database is locked"):
        _begin(blocked)
    outsider.execute("COMMIT")
    outsider.close()
    _write(then, "once the outsider committed")

    assert _log(database) == ["once the outsider committed"]
    blocked.close()
    then.close()


def test_an_in_memory_database_takes_no_lock(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    memory = _wrapper(Path(":memory:"))
    _begin(memory)
    memory.rollback()
    memory.close()

    assert list(tmp_path.iterdir()) == []


def test_a_connection_renamed_to_another_database_takes_that_databases_lock(database, tmp_path):
    """The lock is looked up once per name: the test runner renames a connection's database
    (to its test database) after the connection was made, and the lock must follow."""
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as setup:
        setup.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, value TEXT)")
    wrapper = _wrapper(database)
    first = wrapper._writer_lock()

    wrapper.settings_dict["NAME"] = str(other)

    assert wrapper._writer_lock() is not first
    assert wrapper._writer_lock() is _wrapper(other)._writer_lock()
    assert _wrapper(database)._writer_lock() is first
