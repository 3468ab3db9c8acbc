"""Claims: eligibility at claim time, one code per share, the country's stock, the trace left."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bastion.events.models import SecurityEvent
from bastion.keys import services
from bastion.keys.models import PromoCode
from bastion.keys.policy import Phase, Policy
from tests.factories import enrol_totp
from tests.keys.conftest import OPEN, PYPI, give_key

pytestmark = pytest.mark.django_db


def claim(user, country="US", policy=OPEN, **kw):
    return services.claim(user, country=country, policy=policy, **kw)


def test_an_eligible_critical_maintainer_gets_one_code_and_only_they_can_read_it(
    critical_maintainer, stock, make_user
):
    codes = stock(3, country="US")
    user = critical_maintainer()
    code = claim(user)
    assert services.reveal(code, user) in codes
    assert (code.claimed_by, code.slot) == (user, 1)
    assert code.claimed_at is not None
    with pytest.raises(PermissionError):
        services.reveal(code, make_user("mallory"))
    assert PromoCode.objects.filter(claimed_by__isnull=True).count() == 2


def test_a_claim_is_a_security_event_without_the_code(critical_maintainer, stock):
    codes = stock(1, vendor="titan", country="DE", batch="july")
    user = critical_maintainer()
    claim(user, country="DE")
    event = SecurityEvent.objects.get(tag="account:security_key:claim")
    assert event.user == user
    assert event.additional == {"vendor": "titan", "country": "DE", "batch": "july"}
    assert codes[0] not in repr(event.additional)


def test_the_claimer_is_mailed_without_the_code(critical_maintainer, stock):
    codes = stock(1)
    claim(critical_maintainer())
    (sent,) = mail.outbox
    assert sent.to == ["maint@example.com"]
    assert "/manage/account/security-key/" in sent.body
    assert "/manage/account/two-factor/webauthn/" in sent.body
    assert codes[0] not in sent.body and codes[0] not in sent.subject


def test_a_second_claim_is_refused(critical_maintainer, stock):
    stock(2)
    user = critical_maintainer()
    claim(user)
    with pytest.raises(services.ClaimRefused, match="already claimed your security key code"):
        claim(user)
    assert PromoCode.objects.filter(claimed_by=user).count() == 1


def test_the_share_per_account_is_configurable(critical_maintainer, stock):
    stock(3)
    user = critical_maintainer()
    two_each = Policy(per_account=2)
    assert [claim(user, policy=two_each).slot for _ in range(2)] == [1, 2]
    with pytest.raises(services.ClaimRefused, match="already claimed your 2 codes"):
        claim(user, policy=two_each)


def test_a_claim_after_the_end_date_is_refused(critical_maintainer, stock):
    stock(1)
    ended = Policy(end_date=timezone.localdate())
    with pytest.raises(services.ClaimRefused, match="offer closed on") as refused:
        claim(critical_maintainer(), policy=ended)
    assert refused.value.status == 403
    assert PromoCode.objects.filter(claimed_by__isnull=False).count() == 0


def test_a_claim_before_the_first_phase_is_refused(critical_maintainer, stock):
    stock(1)
    later = Policy(
        phases=(Phase(start=date.today() + timedelta(days=3), rule="critical-without-2fa"),)
    )
    with pytest.raises(services.ClaimRefused, match="offer starts on"):
        claim(critical_maintainer(), policy=later)


def test_an_account_without_a_critical_project_is_refused(make_user, stock):
    stock(1)
    with pytest.raises(services.ClaimRefused, match="do not maintain one"):
        claim(make_user("bystander"))


def test_a_removed_designation_no_longer_makes_a_maintainer_eligible(critical_maintainer, stock):
    from bastion.critical.models import Designation

    stock(1)
    user = critical_maintainer()
    Designation.objects.update(removed_at=timezone.now())
    with pytest.raises(services.ClaimRefused, match="do not maintain one"):
        claim(user)


def test_eligibility_is_checked_at_claim_time_not_at_designation(critical_maintainer, stock):
    stock(1)
    user = critical_maintainer()
    assert services.eligibility(user, policy=OPEN).eligible
    enrol_totp(user)  # enabled 2FA after being designated, before claiming
    with pytest.raises(services.ClaimRefused, match="already use two-factor"):
        claim(user)


@pytest.mark.parametrize(
    ("on", "setup", "allowed"),
    [
        (date(2022, 7, 10), enrol_totp, False),
        (date(2022, 8, 26), enrol_totp, True),
        (date(2022, 8, 26), give_key, False),
    ],
)
def test_pypi_phases_against_the_database(critical_maintainer, stock, on, setup, allowed):
    stock(1)
    user = critical_maintainer()
    setup(user)
    if allowed:
        assert claim(user, policy=PYPI, on=on).claimed_by == user
    else:
        with pytest.raises(services.ClaimRefused):
            claim(user, policy=PYPI, on=on)


def test_any_old_account_in_the_last_phase(make_user, stock):
    stock(2)
    old, new = make_user("old"), make_user("new")
    old.date_joined = timezone.datetime(2020, 1, 1, tzinfo=timezone.get_current_timezone())
    old.save()
    new.date_joined = timezone.datetime(2022, 9, 24, tzinfo=timezone.get_current_timezone())
    new.save()
    assert claim(old, policy=PYPI, on=date(2022, 9, 30)).claimed_by == old
    with pytest.raises(services.ClaimRefused, match="created too recently"):
        claim(new, policy=PYPI, on=date(2022, 9, 30))


def test_a_country_with_no_stock_is_refused_with_its_name(critical_maintainer, stock):
    stock(2, country="US")
    with pytest.raises(services.ClaimRefused, match="no codes left for Germany") as refused:
        claim(critical_maintainer(), country="DE")
    assert refused.value.status == 409


def test_a_vendor_with_no_stock_for_the_country_is_refused(critical_maintainer, stock):
    stock(1, vendor="titan", country="US")
    stock(1, vendor="yubico", country="DE")
    with pytest.raises(services.ClaimRefused, match="no yubico codes left for United States"):
        claim(critical_maintainer(), country="US", vendor="yubico")


def test_codes_for_any_country_serve_every_country_after_its_own(critical_maintainer, stock):
    anywhere = stock(1, country="")
    german = stock(1, country="DE")
    user_one, user_two = critical_maintainer("one"), critical_maintainer("two")
    assert services.reveal(claim(user_one, country="DE"), user_one) == german[0]
    assert services.reveal(claim(user_two, country="DE"), user_two) == anywhere[0]


def test_an_unknown_country_is_refused(critical_maintainer, stock):
    stock(1)
    with pytest.raises(services.ClaimRefused, match="Choose the country") as refused:
        claim(critical_maintainer(), country="XY")
    assert refused.value.status == 400


def test_stock_counts_codes_per_vendor_for_a_country(stock):
    stock(2, vendor="titan", country="US")
    stock(1, vendor="titan", country="")
    stock(4, vendor="yubico", country="DE")
    assert {row["vendor"].slug: row["left"] for row in services.stock("US")} == {"titan": 3}
    assert {row["vendor"].slug: row["left"] for row in services.stock("DE")} == {
        "titan": 1,
        "yubico": 4,
    }
