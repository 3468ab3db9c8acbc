"""Rate limits kept in the Django cache ``ratelimit``, which every worker of the server shares.

That cache is Redis when ``BASTION_REDIS_URL`` is set and otherwise a database table
(:mod:`bastion.accounts.cache`); never a per-process cache, or each worker would count alone.

A :class:`RateLimiter` has a name and one or more :class:`Limit` windows (``10 per 5 minutes``,
``50 per day``). Callers ``check`` a key before doing the expensive or risky thing, and ``hit`` it
when the attempt counts (a failed password, a reset mail sent); ``attempt`` does both for an
attempt that counts whenever it is let through (an upload, a project's creation). Keys are
hashed before they reach the cache, so usernames, addresses and IPs never appear in it.

Counting uses a sliding window approximated from two fixed buckets (the current one and the one
before, weighted by how much of it still overlaps the window). It never lets through the double
burst a plain fixed window allows at a boundary, and it costs two cache reads per limit (one
read of both buckets, or for ``attempt`` the count itself and the bucket before). An
attempt is allowed while the weighted count is at most ``count - 1``.

The defaults follow PyPI's (see the reference notes, section 3.6).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache, caches

_EPSILON = 1e-6  # float slack, so a count of exactly ``count - 1`` is never read as more


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count} per {_duration(self.seconds)}"


class RateLimited(Exception):
    """Raised when a key has used up a limit; ``retry_after`` is in whole seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class RateLimiter:
    """A named set of limits applied to keys such as an IP address or an account."""

    def __init__(
        self,
        name: str,
        *limits: Limit,
        cache: BaseCache | None = None,
        cache_alias: str = "ratelimit",
    ):
        if not limits:
            raise ValueError("a rate limiter needs at least one limit")
        self.name = name
        self._limits = limits
        self._cache = cache
        self._cache_alias = cache_alias

    @property
    def limits(self) -> tuple[Limit, ...]:
        return self._limits

    @property
    def cache(self) -> BaseCache:
        return self._cache if self._cache is not None else caches[self._cache_alias]

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Seconds until ``key`` may try again, or None when it is within every limit."""
        now = time.time() if now is None else now
        waits = [
            self._wait(limit, key, now)
            for limit in self.limits
            if self._estimate(limit, key, now) > limit.count - 1 + _EPSILON
        ]
        return max(waits) if waits else None

    def check(self, key: str, message: str, now: float | None = None) -> None:
        """Raise :class:`RateLimited` with ``message`` when ``key`` has used up a limit."""
        wait = self.retry_after(key, now)
        if wait is not None:
            raise RateLimited(f"{message} Try again in {_duration(wait)}.", wait)

    def hit(self, key: str, now: float | None = None) -> None:
        """Count one attempt by ``key`` against every limit."""
        now = time.time() if now is None else now
        for limit in self.limits:
            self._count(limit, key, now)

    def attempt(self, key: str, message: str, now: float | None = None) -> None:
        """Count one attempt by ``key`` if it is within every limit, else raise
        :class:`RateLimited` with ``message`` and count nothing: :meth:`check` then :meth:`hit`
        in fewer round trips, one count per limit and one read of the windows before.

        The attempt is counted first and judged on the count that includes it, so concurrent
        attempts cannot all pass on the same count; a refused one is taken back.
        """
        now = time.time() if now is None else now
        counted = {limit: self._count(limit, key, now) for limit in self.limits}
        before = {
            limit: self._bucket_key(limit, key, int(now // limit.seconds) - 1) for limit in counted
        }
        previous = self.cache.get_many(list(before.values()))
        estimates = {
            limit: this_bucket + previous.get(before[limit], 0) * _overlap(limit, now)
            for limit, this_bucket in counted.items()
        }
        if all(estimates[limit] <= limit.count + _EPSILON for limit in counted):
            return
        self.take_back(key, now)
        wait = self.retry_after(key, now) or 1  # 1: others took theirs back meanwhile
        raise RateLimited(f"{message} Try again in {_duration(wait)}.", wait)

    def take_back(self, key: str, now: float) -> None:
        """Uncount an attempt that :meth:`attempt` counted at ``now``, when what it guarded was
        refused for another reason (another limiter's)."""
        for limit in self.limits:
            self.cache.decr(self._bucket_key(limit, key, int(now // limit.seconds)))

    def _count(self, limit: Limit, key: str, now: float) -> int:
        """Count one attempt in the current bucket of ``limit``; the bucket's new count."""
        bucket_key = self._bucket_key(limit, key, int(now // limit.seconds))
        try:
            return self.cache.incr(bucket_key)
        except ValueError:  # the first attempt in this bucket
            # Keep each bucket for two windows: the next window still weighs it.
            if self.cache.add(bucket_key, 1, timeout=2 * limit.seconds):
                return 1
            return self.cache.incr(bucket_key)  # another worker created it just now

    def clear(self, key: str, now: float | None = None) -> None:
        """Forget ``key``'s attempts (an admin unlocking an account, a test starting afresh)."""
        now = time.time() if now is None else now
        for limit in self.limits:
            current = int(now // limit.seconds)
            self.cache.delete_many(
                [self._bucket_key(limit, key, current), self._bucket_key(limit, key, current - 1)]
            )

    def _estimate(self, limit: Limit, key: str, now: float) -> float:
        current = int(now // limit.seconds)
        counts = self.cache.get_many(
            [self._bucket_key(limit, key, current), self._bucket_key(limit, key, current - 1)]
        )
        this_bucket = counts.get(self._bucket_key(limit, key, current), 0)
        last_bucket = counts.get(self._bucket_key(limit, key, current - 1), 0)
        return this_bucket + last_bucket * _overlap(limit, now)

    def _wait(self, limit: Limit, key: str, now: float) -> int:
        """Time until the weighted count allows one more attempt (is at most count - 1)."""
        seconds, room = limit.seconds, limit.count - 1
        current = int(now // seconds)
        elapsed = now % seconds
        this_bucket = self.cache.get(self._bucket_key(limit, key, current), 0)
        if this_bucket > room:
            # This bucket becomes the previous one; wait until its weight has shrunk enough.
            until = seconds + seconds * (1 - room / this_bucket)
        else:
            last_bucket = self.cache.get(self._bucket_key(limit, key, current - 1), 0)
            until = seconds * (1 - (room - this_bucket) / last_bucket)
        return max(1, math.ceil(until - elapsed - _EPSILON))

    def _bucket_key(self, limit: Limit, key: str, bucket: int) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"ratelimit:{self.name}:{limit.seconds}:{bucket}:{digest}"


class ConfiguredRateLimiter(RateLimiter):
    """A limiter whose windows are an operator's setting, read when used (so overrides apply).

    The setting holds ``(count, seconds)`` pairs, parsed and checked by ``settings.py`` from a
    ``BASTION_RATELIMIT_*`` variable such as ``20/minute`` or ``20/hour,100/day``.
    """

    def __init__(
        self,
        name: str,
        setting: str,
        cache: BaseCache | None = None,
        cache_alias: str = "ratelimit",
    ):
        self.name = name
        self.setting = setting
        self._cache = cache
        self._cache_alias = cache_alias

    @property
    def limits(self) -> tuple[Limit, ...]:
        return tuple(Limit(count, seconds) for count, seconds in getattr(settings, self.setting))


def _overlap(limit: Limit, now: float) -> float:
    """How much of the window before still lies within the sliding window ending ``now``."""
    return 1 - (now % limit.seconds) / limit.seconds


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            amount = math.ceil(seconds / size)
            return f"{amount} {unit}{'s' if amount != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


MINUTE, HOUR, DAY = 60, 3600, 86400

#: Failed passwords for one account, wherever they come from.
LOGIN_PER_ACCOUNT = RateLimiter("login.account", Limit(10, 5 * MINUTE))
#: Failed passwords from one IP address, whichever accounts they name.
LOGIN_PER_IP = RateLimiter("login.ip", Limit(10, 5 * MINUTE))
#: Reset mails requested for one address (known or not, so the limit reveals nothing).
PASSWORD_RESET_PER_ACCOUNT = RateLimiter("password-reset.account", Limit(5, DAY))
#: Reset requests from one IP address.
PASSWORD_RESET_PER_IP = RateLimiter("password-reset.ip", Limit(20, HOUR))
#: New accounts from one IP address: sign-ups are cheap for a bot and each one sends a mail.
REGISTRATION_PER_IP = RateLimiter("registration.ip", Limit(5, HOUR), Limit(20, DAY))
#: Verification mails one account may trigger (adding addresses, asking for a new link).
VERIFICATION_MAIL_PER_ACCOUNT = RateLimiter("verification-mail.account", Limit(10, 6 * HOUR))
#: Failed API-token authentications (on ``/legacy/``) from one IP address.
TOKEN_FAILURES_PER_IP = ConfiguredRateLimiter("token-failure.ip", "RATELIMIT_TOKEN_FAILURES_PER_IP")
#: New projects one account may create (PyPI: 20 per hour).
#: Both count inside the creating transaction, in the database even with Redis: a creation that
#: is rolled back (it lost a race for the name) is then not counted.
PROJECTS_PER_ACCOUNT = ConfiguredRateLimiter(
    "project-create.account", "RATELIMIT_PROJECTS_PER_USER", cache_alias="ratelimit-transactional"
)
#: New projects created from one IP address (PyPI: 40 per hour).
PROJECTS_PER_IP = ConfiguredRateLimiter(
    "project-create.ip", "RATELIMIT_PROJECTS_PER_IP", cache_alias="ratelimit-transactional"
)
#: Upload attempts by one account; enough for twine to send a few hundred files at once.
UPLOADS_PER_ACCOUNT = ConfiguredRateLimiter("upload.account", "RATELIMIT_UPLOADS_PER_USER")
