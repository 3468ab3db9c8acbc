"""Parallel claims on PostgreSQL: no code twice, no account above its share.

Each thread has its own database connection (Django's connections are per thread) and all start
together at a barrier, so the claims really overlap inside the server.
"""

import threading
from collections import Counter

import pytest
from django.db import connection

from bastion.keys import services
from bastion.keys.models import PromoCode
from bastion.keys.policy import Policy
from tests.keys.conftest import OPEN

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def claim_in_parallel(users, policy) -> tuple[list, list[str]]:
    barrier = threading.Barrier(len(users))
    granted, refused, lock = [], [], threading.Lock()

    def attempt(user) -> None:
        try:
            barrier.wait()
            code = services.claim(user, country="US", policy=policy)
            with lock:
                granted.append(code.pk)
        except services.ClaimRefused as error:
            with lock:
                refused.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(granted) + len(refused) == len(users), "a claim neither succeeded nor refused"
    return granted, refused


def test_fifty_parallel_claims_on_ten_codes_hand_out_exactly_ten_distinct_codes(
    critical_maintainer, stock
):
    assert connection.vendor == "postgresql"
    codes = stock(10, country="US")
    users = [critical_maintainer(f"maint{n:02d}") for n in range(50)]

    granted, refused = claim_in_parallel(users, OPEN)

    assert len(granted) == 10 and len(set(granted)) == 10
    assert Counter(refused) == {"There are no codes left for United States.": 40}
    claimed = PromoCode.objects.filter(claimed_by__isnull=False)
    assert claimed.count() == 10
    assert len(set(claimed.values_list("claimed_by", flat=True))) == 10
    handed_out = {services.reveal(code, code.claimed_by) for code in claimed}
    assert handed_out == set(codes)


@pytest.mark.parametrize("share", [1, 2])
def test_one_account_claiming_in_parallel_gets_only_its_share(critical_maintainer, stock, share):
    stock(10, country="US")
    user = critical_maintainer()

    granted, refused = claim_in_parallel([user] * 20, Policy(per_account=share))

    assert len(granted) == share
    assert len(refused) == 20 - share
    assert all("already claimed" in message for message in refused)
    assert sorted(PromoCode.objects.filter(claimed_by=user).values_list("slot", flat=True)) == list(
        range(1, share + 1)
    )
