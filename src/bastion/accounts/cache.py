"""The store the rate limits count in when there is no Redis: a table in the database.

Every worker process of the server (and every server on the same database) reads and writes the
same counters, so limits hold whatever the number of workers; an in-process cache would give
each worker its own. The file-based cache was the other candidate: it shares counters on one
machine only, and like Django's database cache it counts with a read followed by a write.

Django's ``DatabaseCache`` inherits ``incr`` from ``BaseCache``: ``get`` then ``set``. Two
workers counting the same key at once would both read n and write n + 1, so a burst of parallel
guesses could count as one; and ``set`` gives the entry the default timeout (300 s), so a count
kept for a day would vanish after five minutes. Its ``add`` counts the whole table before every
insert, to cull it.

:class:`RateLimitCache` keeps counters only, as decimal text the database itself can add to, so
that every operation a rate limit makes is one statement: ``incr`` is an ``UPDATE … RETURNING``
that keeps the entry's expiry (atomic: the database serialises writers of a row), and ``add`` is
an ``INSERT … ON CONFLICT DO UPDATE`` that takes over an expired entry and leaves a live one
alone (of two concurrent first counts, one adds and the other increments). SQLite (3.35 and
later) and PostgreSQL both run them; inside a caller's transaction (a project's creation counts
in it) they hold the row until that commits, and outside one they need no transaction of their
own. Expired entries are deleted when a new one is added: counts live in per-window buckets, so
each key adds one per window.
"""

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.timezone import now as tz_now


class RateLimitCache(DatabaseCache):
    """Django's database cache holding integer counters, each operation one statement."""

    def __init__(self, table, params):
        # Version 2 of the keys: the counts that version 1 pickled are never read as counters,
        # and are deleted once expired.
        super().__init__(table, {"VERSION": 2, **params})

    def get_many(self, keys, version=None):
        if not keys:
            return {}
        key_map = {self.make_and_validate_key(key, version=version): key for key in keys}
        connection = connections[router.db_for_read(self.cache_model_class)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {self._quote(connection, 'cache_key')}, "  # noqa: S608
                f"{self._quote(connection, 'value')} FROM {self._table_of(connection)} "
                f"WHERE {self._quote(connection, 'cache_key')} IN "
                f"({', '.join(['%s'] * len(key_map))}) "
                f"AND {self._quote(connection, 'expires')} >= %s",
                [*key_map, _stamp(connection, tz_now())],
            )
            rows = cursor.fetchall()
        return {key_map[key]: int(connection.ops.process_clob(value)) for key, value in rows}

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        connection = connections[router.db_for_write(self.cache_model_class)]
        value, cache_key = self._quote(connection, "value"), self._quote(connection, "cache_key")
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {self._table_of(connection)} "  # noqa: S608
                f"SET {value} = CAST(CAST({value} AS INTEGER) + %s AS TEXT) "
                f"WHERE {cache_key} = %s AND {self._quote(connection, 'expires')} >= %s "
                f"RETURNING {value}",
                [delta, key, _stamp(connection, tz_now())],
            )
            row = cursor.fetchone()
        if row is None:
            raise ValueError(f"Key '{key}' not found")
        return int(connection.ops.process_clob(row[0]))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._store(key, value, timeout, version, replace_live=False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._store(key, value, timeout, version, replace_live=True)

    def _store(self, key, value, timeout, version, *, replace_live: bool) -> bool:
        """Write ``value`` under ``key``; over a live entry only when ``replace_live``.

        Returns whether it was written. A new entry first deletes the expired ones."""
        if not isinstance(value, int):
            raise TypeError("the rate limits' store keeps integer counters only")
        key = self.make_and_validate_key(key, version=version)
        connection = connections[router.db_for_write(self.cache_model_class)]
        table = self._table_of(connection)
        key_, value_, expires_ = (
            self._quote(connection, column) for column in ("cache_key", "value", "expires")
        )
        now = _stamp(connection, tz_now())
        expires = self.get_backend_timeout(timeout)
        zone = UTC if settings.USE_TZ else None
        until = (
            datetime.max.replace(tzinfo=zone)
            if expires is None
            else datetime.fromtimestamp(expires, tz=zone)
        )
        when = "" if replace_live else f" WHERE {table}.{expires_} < %s"
        with connection.cursor() as cursor:
            # Rows another transaction holds (about to take one over) are left for later.
            skip = (
                " FOR UPDATE SKIP LOCKED"
                if connection.features.has_select_for_update_skip_locked
                else ""
            )
            cursor.execute(
                f"DELETE FROM {table} WHERE {key_} IN "  # noqa: S608
                f"(SELECT {key_} FROM {table} WHERE {expires_} < %s{skip})",
                [now],
            )
            cursor.execute(
                f"INSERT INTO {table} ({key_}, {value_}, {expires_}) VALUES (%s, %s, %s) "  # noqa: S608
                f"ON CONFLICT ({key_}) DO UPDATE SET {value_} = excluded.{value_}, "
                f"{expires_} = excluded.{expires_}{when} RETURNING {key_}",
                [key, str(value), _stamp(connection, until), *([] if replace_live else [now])],
            )
            return cursor.fetchone() is not None

    def _table_of(self, connection: BaseDatabaseWrapper) -> str:
        return connection.ops.quote_name(self.cache_model_class._meta.db_table)

    @staticmethod
    def _quote(connection: BaseDatabaseWrapper, column: str) -> str:
        return connection.ops.quote_name(column)


def _stamp(connection: BaseDatabaseWrapper, moment: datetime) -> Any:
    """A time as the ``expires`` column stores it, to whole seconds as Django's cache writes."""
    return connection.ops.adapt_datetimefield_value(moment.replace(microsecond=0))
