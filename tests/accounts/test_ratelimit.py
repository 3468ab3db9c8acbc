"""The reusable rate limiter: sliding windows in the Django cache, locally and in Redis."""

import socket
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache

from bastion.accounts.ratelimit import Limit, RateLimited, RateLimiter
from tests.accounts.parallel import in_parallel
from tests.tools import missing

T0 = 1_000_000 * 300.0  # the start of a 5-minute window


@pytest.fixture
def limiter():
    cache = LocMemCache(f"ratelimit-{uuid.uuid4()}", {})
    return RateLimiter("test", Limit(3, 300), cache=cache)


def test_a_key_within_its_limit_passes(limiter):
    for _ in range(2):
        limiter.hit("k", now=T0)
    assert limiter.retry_after("k", now=T0) is None
    limiter.check("k", "Too many.", now=T0)


def test_a_key_at_its_limit_is_refused_with_a_wait_and_a_message(limiter):
    for _ in range(3):
        limiter.hit("k", now=T0 + 10)
    with pytest.raises(RateLimited) as refused:
        limiter.check("k", "Too many tries.", now=T0 + 20)
    assert refused.value.message.startswith("Too many tries. Try again in ")
    assert 0 < refused.value.retry_after <= 600


def test_keys_are_counted_apart(limiter):
    for _ in range(3):
        limiter.hit("a", now=T0)
    assert limiter.retry_after("a", now=T0) is not None
    assert limiter.retry_after("b", now=T0) is None


def test_the_window_slides_instead_of_resetting_at_the_boundary(limiter):
    for _ in range(3):
        limiter.hit("k", now=T0 + 290)
    # Just after the boundary a fixed window would forget all three; the sliding one does not.
    assert limiter.retry_after("k", now=T0 + 310) is not None
    wait = limiter.retry_after("k", now=T0 + 310)
    assert limiter.retry_after("k", now=T0 + 310 + wait) is None
    assert limiter.retry_after("k", now=T0 + 310 + wait - 2) is not None


def test_the_wait_it_announces_is_when_the_key_may_try_again(limiter):
    for _ in range(3):
        limiter.hit("k", now=T0 + 100)
    wait = limiter.retry_after("k", now=T0 + 100)
    assert limiter.retry_after("k", now=T0 + 100 + wait - 2) is not None
    assert limiter.retry_after("k", now=T0 + 100 + wait) is None


def test_every_limit_of_a_limiter_applies():
    cache = LocMemCache(f"ratelimit-{uuid.uuid4()}", {})
    limiter = RateLimiter("two", Limit(5, 60), Limit(8, 3600), cache=cache)
    for minute in range(4):
        for _ in range(2):
            limiter.hit("k", now=T0 + minute * 120)
    assert limiter.retry_after("k", now=T0 + 4 * 120) >= 60  # the hourly limit, not the minute


def test_clear_forgets_a_key(limiter):
    for _ in range(3):
        limiter.hit("k", now=T0)
    limiter.clear("k", now=T0)
    assert limiter.retry_after("k", now=T0) is None


def test_the_cache_never_sees_the_key_itself(limiter):
    limiter.hit("maria@example.org", now=T0)
    assert not any("maria" in key for key in limiter.cache._cache)


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_limits_are_shared_through_redis():
    """Two limiters on two Redis connections, as in two workers, see the same counts."""
    if not _redis_reachable():
        missing("Redis at 127.0.0.1:6379")
    from django.core.cache.backends.redis import RedisCache

    def worker_cache():
        return RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": f"bastion-test-{run}"})

    run = uuid.uuid4().hex
    first = RateLimiter("shared", Limit(3, 300), cache=worker_cache())
    second = RateLimiter("shared", Limit(3, 300), cache=worker_cache())
    try:
        first.hit("k", now=T0)
        second.hit("k", now=T0)
        assert first.retry_after("k", now=T0) is None
        first.hit("k", now=T0)
        assert second.retry_after("k", now=T0) is not None
        second.clear("k", now=T0)
        assert first.retry_after("k", now=T0) is None
    finally:
        first.clear("k", now=T0)


def test_an_attempt_is_let_through_until_exactly_the_limit(limiter):
    """``attempt`` refuses at the same count as ``check`` then ``hit``: the third of three."""
    for _ in range(3):
        limiter.attempt("k", "Too many.", now=T0)
    assert limiter._estimate(limiter.limits[0], "k", T0) == 3
    with pytest.raises(RateLimited) as refused:
        limiter.attempt("k", "Too many.", now=T0)
    assert refused.value.retry_after == limiter.retry_after("k", now=T0)


def test_a_refused_attempt_is_not_counted(limiter):
    for _ in range(3):
        limiter.hit("k", now=T0 + 290)
    for _ in range(5):
        with pytest.raises(RateLimited):
            limiter.attempt("k", "Too many.", now=T0 + 300)
    assert limiter._estimate(limiter.limits[0], "k", T0 + 300) == 3
    # The window before still weighs; once it weighs less than one attempt, one more passes.
    wait = limiter.retry_after("k", now=T0 + 300)
    limiter.attempt("k", "Too many.", now=T0 + 300 + wait)
    with pytest.raises(RateLimited):
        limiter.attempt("k", "Too many.", now=T0 + 300 + wait)


def test_an_attempt_refused_by_one_limit_counts_against_none():
    cache = LocMemCache(f"ratelimit-{uuid.uuid4()}", {})
    limiter = RateLimiter("two", Limit(5, 60), Limit(2, 3600), cache=cache)
    limiter.attempt("k", "Too many.", now=T0)
    limiter.attempt("k", "Too many.", now=T0)
    with pytest.raises(RateLimited):
        limiter.attempt("k", "Too many.", now=T0)
    assert [limiter._estimate(limit, "k", T0) for limit in limiter.limits] == [2, 2]


def test_take_back_uncounts_an_attempt(limiter):
    limiter.attempt("k", "Too many.", now=T0)
    limiter.take_back("k", now=T0)
    assert limiter._estimate(limiter.limits[0], "k", T0) == 0


def test_parallel_attempts_through_redis_never_pass_the_limit():
    """Eight workers, each with its own Redis connection, racing for the last places."""
    if not _redis_reachable():
        missing("Redis at 127.0.0.1:6379")

    from django.core.cache.backends.redis import RedisCache

    run = uuid.uuid4().hex

    def worker_limiter():
        cache = RedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": f"bastion-test-{run}"})
        return RateLimiter("parallel", Limit(50, 300), cache=cache)

    passed = []

    def hammer():
        limiter = worker_limiter()
        for _ in range(25):
            try:
                limiter.attempt("k", "Too many.", now=T0)
                passed.append(1)
            except RateLimited:
                pass

    assert not in_parallel(hammer)
    limiter = worker_limiter()
    try:
        assert len(passed) == 50
        assert limiter._estimate(limiter.limits[0], "k", T0) == 50
    finally:
        limiter.clear("k", now=T0)
