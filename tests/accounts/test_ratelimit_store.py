"""The rate limits' shared store without Redis: a database table every worker counts in."""

import time
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection, models, transaction
from django.utils import timezone

from bastion.accounts.cache import RateLimitCache
from bastion.accounts.ratelimit import LOGIN_PER_IP, Limit, RateLimited, RateLimiter
from tests.accounts.parallel import in_parallel


def test_rate_limits_use_the_database_store_when_there_is_no_redis(settings):
    if settings.REDIS_URL:
        pytest.skip("Redis is configured: the limits live there")
    assert isinstance(caches["ratelimit"], RateLimitCache)
    assert LOGIN_PER_IP.cache is caches["ratelimit"]


@pytest.mark.django_db
def test_counting_keeps_a_days_count_for_the_day():
    """Django's own incr re-sets the entry with the default 300 s timeout: a day's count
    (registrations, reset mails) would be forgotten after five minutes."""
    limiter = RateLimiter("store-expiry", Limit(5, 86400))
    now = time.time()
    for _ in range(5):
        limiter.hit("203.0.113.4", now=now)
    key = limiter.cache.make_and_validate_key(
        limiter._bucket_key(limiter.limits[0], "203.0.113.4", int(now // 86400))
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM bastion_ratelimit WHERE cache_key = %s", [key])
        (expires,) = cursor.fetchone()
    if isinstance(expires, str):  # SQLite hands the column back as text
        from django.utils.dateparse import parse_datetime

        expires = parse_datetime(expires)
    assert expires.timestamp() > now + 86400  # kept for two windows, not 300 s
    assert limiter.retry_after("203.0.113.4", now=now + 600) is not None


@pytest.mark.django_db
def test_a_first_count_inside_a_transaction_leaves_it_usable():
    """A project's creation counts inside the upload's transaction, without a savepoint: the
    first count of a bucket (no row yet) must not mark that transaction for rollback."""
    limiter = RateLimiter("store-nested", Limit(5, 3600))
    now = time.time()
    with transaction.atomic():
        limiter.hit("192.0.2.44", now=now)
        limiter.hit("192.0.2.44", now=now)
        assert not connection.needs_rollback
        assert limiter._estimate(limiter.limits[0], "192.0.2.44", now) == 2
    assert limiter._estimate(limiter.limits[0], "192.0.2.44", now) == 2


@pytest.mark.postgres  # SQLite's test database is shared-cache memory: writers fail, not wait
@pytest.mark.django_db(transaction=True)
def test_parallel_hits_are_all_counted(fresh_rate_limits):
    """Eight threads, each with its own database connection as a worker has, lose no hit."""
    limiter = RateLimiter("store-parallel", Limit(1000, 3600))
    now = time.time()

    def hammer():
        for _ in range(25):
            limiter.hit("198.51.100.8", now=now)

    assert not in_parallel(hammer)
    assert limiter._estimate(limiter.limits[0], "198.51.100.8", now) == 200


@pytest.mark.django_db
def test_an_attempt_costs_one_statement_to_count_and_one_to_read(django_assert_num_queries):
    """The upload's own limit: no transaction of its own, no read before the write."""
    limiter = RateLimiter("store-attempt", Limit(3, 60))
    now = time.time()
    limiter.hit("192.0.2.7", now=now)
    with django_assert_num_queries(2):
        limiter.attempt("192.0.2.7", "Too many.", now=now)
    limiter.attempt("192.0.2.7", "Too many.", now=now)
    with pytest.raises(RateLimited):
        limiter.attempt("192.0.2.7", "Too many.", now=now)
    assert limiter._estimate(limiter.limits[0], "192.0.2.7", now) == 3


@pytest.mark.django_db
def test_the_store_keeps_counters_that_expire():
    store = caches["ratelimit"]
    with pytest.raises(ValueError):
        store.incr("store-counter")
    assert store.add("store-counter", 1, timeout=60)
    assert not store.add("store-counter", 7, timeout=60)  # a live count is never replaced
    assert store.incr("store-counter") == 2
    assert store.decr("store-counter") == 1
    assert store.get_many(["store-counter", "store-absent"]) == {"store-counter": 1}
    store.set("store-counter", 5, timeout=60)
    assert store.get("store-counter") == 5
    with pytest.raises(TypeError):
        store.set("store-counter", "five")


@pytest.mark.django_db
def test_an_expired_count_is_not_read_and_is_taken_over_by_a_new_one():
    store = caches["ratelimit"]
    store.add("store-old", 9, timeout=60)
    key = store.make_and_validate_key("store-old")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bastion_ratelimit SET expires = %s WHERE cache_key = %s",
            [
                models.DateTimeField().get_db_prep_value(
                    timezone.now() - timedelta(seconds=5), connection
                ),
                key,
            ],
        )
    assert store.get("store-old") is None
    with pytest.raises(ValueError):
        store.incr("store-old")
    assert store.add("store-other", 1, timeout=60)  # a new entry deletes the expired ones
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM bastion_ratelimit WHERE cache_key = %s", [key])
        assert cursor.fetchone() == (0,)
    assert store.add("store-old", 1, timeout=60)
    assert store.get("store-old") == 1


@pytest.mark.postgres  # SQLite's test database is shared-cache memory: writers fail, not wait
@pytest.mark.django_db(transaction=True)
def test_parallel_attempts_never_pass_the_limit(fresh_rate_limits):
    """Eight workers racing for the last places: exactly the limit's count passes."""
    limiter = RateLimiter("store-parallel-attempts", Limit(50, 3600))
    now = time.time()
    passed = []

    def hammer():
        for _ in range(25):
            try:
                limiter.attempt("198.51.100.9", "Too many.", now=now)
                passed.append(1)
            except RateLimited:
                pass

    assert not in_parallel(hammer)
    assert len(passed) == 50
    assert limiter._estimate(limiter.limits[0], "198.51.100.9", now) == 50
