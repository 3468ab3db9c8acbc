"""Removing two factors at once on PostgreSQL: the mandate's last factor survives the race.

Each removal runs in its own thread, with its own database connection (Django's connections are
per thread). Both removals are held just after their "is this the last factor?" check until the
other has reached it too, so without a lock on the account both pass the check and both delete:
the race is made certain rather than left to timing. With the account row locked, the second
removal waits for the first to commit and then sees the truth; the pause then only times out.
"""

import contextlib
import threading

import pytest
from django.db import connection

from bastion.authz import factors
from bastion.mfa import services
from bastion.mfa.models import RecoveryCode, WebAuthnCredential
from bastion.packaging.models import Project, Role, RoleName
from tests.mfa.conftest import ORIGIN

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

#: How long a removal waits for the other at the check before going on alone.
RACE_WINDOW_SECONDS = 2


@pytest.fixture
def critical_maintainer(alice, enrol_totp, enrol_key):
    """Alice maintains a project that requires 2FA, with an authenticator app and a key."""
    project = Project.objects.create(
        name="Requests", normalized_name="requests", requires_two_factor=True
    )
    Role.objects.create(user=alice, project=project, role_name=RoleName.MAINTAINER)
    enrol_totp(alice)
    enrol_key(alice, "yubikey")
    return alice


def hold_everyone_at_the_check(monkeypatch, parties: int) -> None:
    """Each removal passes its check, then waits there until all have passed theirs."""
    barrier = threading.Barrier(parties, timeout=RACE_WINDOW_SECONDS)
    check = factors._check_may_remove_one

    def check_then_wait(user):
        check(user)
        # A broken barrier: the other removal waits on a lock, not at the check. Go on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    monkeypatch.setattr(factors, "_check_may_remove_one", check_then_wait)


def remove_in_parallel(*removals) -> tuple[list[str], list[str]]:
    removed, refused, lock = [], [], threading.Lock()

    def attempt(name, remove) -> None:
        try:
            remove()
            with lock:
                removed.append(name)
        except services.FactorError as error:
            with lock:
                refused.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=removal) for removal in removals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(removed) + len(refused) == len(removals), "a removal neither succeeded nor refused"
    return removed, refused


def test_concurrent_removal_of_totp_and_key_keeps_one_factor_and_the_recovery_codes(
    monkeypatch, critical_maintainer
):
    assert connection.vendor == "postgresql"
    user = critical_maintainer
    key = WebAuthnCredential.objects.get(user=user)
    codes_before = services.unused_recovery_codes(user)
    assert codes_before == 10
    hold_everyone_at_the_check(monkeypatch, parties=2)

    removed, refused = remove_in_parallel(
        ("totp", lambda: factors.remove_totp(user, origin=ORIGIN)),
        ("key", lambda: factors.remove_webauthn(user, credential_pk=key.pk, origin=ORIGIN)),
    )

    assert len(removed) == 1 and len(refused) == 1, (removed, refused)
    assert "cannot remove your last two-factor method" in refused[0]
    assert services.has_two_factor(user)
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == codes_before
