"""The store the rate limits count in when there is no Redis: a table in the database.

Every worker process of the server (and every server on the same database) reads and writes the
same counters, so limits hold whatever the number of workers; an in-process cache would give
each worker its own. The file-based cache was the other candidate: it shares counters on one
machine only, and like Django's database cache it counts with a read followed by a write.

Django's ``DatabaseCache`` inherits ``incr`` from ``BaseCache``: ``get`` then ``set``. Two
workers counting the same key at once would both read n and write n + 1, so a burst of parallel
guesses could count as one; and ``set`` gives the entry the default timeout (300 s), so a count
kept for a day would vanish after five minutes. :class:`RateLimitCache` counts in one
transaction that holds the row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the write
transaction is ``BEGIN IMMEDIATE``, see settings), and keeps the entry's expiry. ``add``, which
starts a count, is already safe: the key is the table's primary key, so of two concurrent
inserts one fails and that caller increments instead.
"""

import base64
import pickle

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now as tz_now


class RateLimitCache(DatabaseCache):
    """Django's database cache with an atomic ``incr`` that keeps the entry's expiry."""

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table, column = quote(self.cache_model_class._meta.db_table), quote("cache_key")
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        # No savepoint (two statements more per count): inside a caller's transaction (a
        # project's creation counts in it) the row's lock lasts until that commits anyway, and no
        # caller catches a failed query here, so that ends the caller's transaction either way.
        # A missing key is raised only once the block is left, so the caller's stays usable.
        with transaction.atomic(using=db, savepoint=False), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote('value')}, {quote('expires')} FROM {table} "  # noqa: S608
                f"WHERE {column} = %s{lock}",
                [key],
            )
            row = cursor.fetchone()
            value = None
            if row is not None and _expires(connection, row[1]) >= tz_now():
                stored = connection.ops.process_clob(row[0])
                # As DatabaseCache.get does: the row was written by this cache, never by a client.
                value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301
                encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode(
                    "latin1"
                )
                cursor.execute(
                    f"UPDATE {table} SET {quote('value')} = %s WHERE {column} = %s",  # noqa: S608
                    [encoded, key],
                )
        if value is None:
            raise ValueError(f"Key '{key}' not found")
        return value


def _expires(connection, value):
    """The expiry column as the datetime Django's own cache code compares (aware under USE_TZ)."""
    expression = models.Expression(output_field=models.DateTimeField())
    for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(
        connection
    ):
        value = converter(value, expression, connection)
    return value
