"""After a claim: one reminder to register the key, and the report that says if it worked."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bastion.cli import main
from bastion.keys import selectors, services
from bastion.keys.models import PromoCode
from bastion.keys.policy import Policy
from bastion.mfa.models import WebAuthnCredential
from tests.keys.conftest import give_key

pytestmark = pytest.mark.django_db

WEEK = Policy(reminder_days=7)


def claimed(user, *, days_ago: int) -> PromoCode:
    code = services.claim(user, country="US", policy=Policy())
    code.claimed_at = timezone.now() - timedelta(days=days_ago)
    code.save(update_fields=["claimed_at"])
    return code


def test_a_claimer_without_a_key_is_reminded_once_after_n_days(critical_maintainer, stock):
    (plain,) = stock(1)
    code = claimed(critical_maintainer(), days_ago=8)
    mail.outbox.clear()
    assert services.send_reminders(policy=WEEK) == 1
    (reminder,) = mail.outbox
    assert reminder.to == ["maint@example.com"]
    assert "register your security key" in reminder.subject.lower()
    assert "/manage/account/two-factor/webauthn/" in reminder.body
    assert plain not in reminder.body
    code.refresh_from_db()
    assert code.reminder_sent_at is not None
    assert services.send_reminders(policy=WEEK) == 0
    assert len(mail.outbox) == 1


def test_no_reminder_before_n_days(critical_maintainer, stock):
    stock(1)
    claimed(critical_maintainer(), days_ago=6)
    mail.outbox.clear()
    assert services.send_reminders(policy=WEEK) == 0
    assert mail.outbox == []


def test_no_reminder_once_a_key_is_registered(critical_maintainer, stock):
    stock(1)
    user = critical_maintainer()
    claimed(user, days_ago=10)
    give_key(user, passkey=True)
    mail.outbox.clear()
    assert services.send_reminders(policy=WEEK) == 0
    assert mail.outbox == []


def test_a_failed_send_is_retried_on_the_next_run(critical_maintainer, stock, monkeypatch):
    stock(1)
    code = claimed(critical_maintainer(), days_ago=8)
    monkeypatch.setattr(services.mail, "send", lambda *args, **kwargs: False)
    assert services.send_reminders(policy=WEEK) == 0
    code.refresh_from_db()
    assert code.reminder_sent_at is None
    monkeypatch.undo()
    assert services.send_reminders(policy=WEEK) == 1


def test_bastion_keys_remind(critical_maintainer, stock, capsys, monkeypatch):
    stock(1)
    claimed(critical_maintainer(), days_ago=15)
    monkeypatch.delenv("BASTION_KEYS_REMINDER_DAYS", raising=False)
    assert main(["keys", "remind"]) == 0
    assert "Sent 1 reminder(s)." in capsys.readouterr().out


def test_report_counts_stock_claims_per_day_and_keys_registered_after_claiming(
    critical_maintainer, stock
):
    stock(3, vendor="titan", country="US")
    stock(2, vendor="yubico", country="")
    early, late, never = (critical_maintainer(name) for name in ("early", "late", "never"))
    claimed(early, days_ago=2)
    claimed(late, days_ago=2)
    claimed(never, days_ago=0)
    give_key(late)
    old_key = give_key(early)  # dated before the claim: it does not count
    WebAuthnCredential.objects.filter(pk=old_key.pk).update(
        created=timezone.now() - timedelta(days=30)
    )

    report = selectors.report()

    assert report["codes_total"] == 5 and report["codes_left"] == 2
    rows = {(row["vendor"], row["country"]): (row["left"], row["total"]) for row in report["codes"]}
    assert rows == {("titan", "US"): (0, 3), ("yubico", ""): (2, 2)}
    today = timezone.now().date()
    assert report["claims_per_day"] == [
        {"day": (today - timedelta(days=2)).isoformat(), "claims": 2},
        {"day": today.isoformat(), "claims": 1},
    ]
    assert (report["claimers"], report["claimers_with_key"]) == (3, 1)
    assert report["registered_share"] == pytest.approx(1 / 3, abs=1e-4)


def test_bastion_keys_report(critical_maintainer, stock, capsys):
    codes = stock(2)
    user = critical_maintainer()
    services.claim(user, country="US")
    give_key(user)
    assert main(["keys", "report", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert (data["codes_left"], data["claimers"], data["claimers_with_key"]) == (1, 1, 1)
    assert data["registered_share"] == 1.0
    assert main(["keys", "report"]) == 0
    text = capsys.readouterr().out
    assert "Codes left: 1 of 2" in text
    assert "registered a security key afterwards: 1 of 1 (100.0%)" in text
    assert not any(code in out + text for code in codes)
