"""Eligibility as ordered phases: PyPI's giveaway replayed day by day, and the settings."""

import json
from datetime import UTC, date, datetime

import pytest

from bastion.keys.policy import HAS_SECURITY_KEY, HAS_TWO_FACTOR, NOT_CRITICAL, Facts, Policy
from tests.keys.conftest import PYPI

OLD = datetime(2015, 1, 1, tzinfo=UTC)
NEW = datetime(2022, 9, 24, tzinfo=UTC)


def facts(*, critical=True, methods=(), joined=OLD) -> Facts:
    return Facts(
        critical_projects=("requests",) if critical else (),
        methods=frozenset(methods),
        joined=joined,
    )


LAUNCH, TOTP_TOO, EVERYONE, CLOSED = (
    date(2022, 7, 8),
    date(2022, 8, 25),
    date(2022, 9, 23),
    date(2022, 10, 1),
)


@pytest.mark.parametrize(
    ("who", "on", "eligible", "reason"),
    [
        (facts(), LAUNCH, True, ""),
        (facts(methods={"totp"}), LAUNCH, False, HAS_TWO_FACTOR),
        (facts(critical=False), LAUNCH, False, NOT_CRITICAL),
        (facts(methods={"totp"}), TOTP_TOO, True, ""),
        (facts(methods={"totp", "webauthn"}), TOTP_TOO, False, HAS_SECURITY_KEY),
        (facts(methods={"passkey"}), TOTP_TOO, False, HAS_SECURITY_KEY),
        (facts(critical=False), TOTP_TOO, False, NOT_CRITICAL),
        (facts(critical=False), EVERYONE, True, ""),
        (facts(critical=False, methods={"totp"}), EVERYONE, True, ""),
        (facts(critical=False, joined=NEW), EVERYONE, False, "created too recently"),
        (facts(critical=False, methods={"webauthn"}), EVERYONE, False, HAS_SECURITY_KEY),
        (facts(), CLOSED, False, "closed on 2022-10-01"),
        (facts(), date(2022, 7, 7), False, "starts on 2022-07-08"),
    ],
)
def test_pypis_phases_widen_eligibility_until_the_end_date(who, on, eligible, reason):
    decision = PYPI.decide(who, on)
    assert decision.eligible is eligible
    assert reason in decision.reason


def test_phases_stay_in_force_once_started():
    """A critical maintainer created after phase 3's cut-off is still admitted by phase 2."""
    decision = PYPI.decide(facts(joined=NEW), EVERYONE)
    assert decision.eligible


def test_the_refusal_is_the_widest_phase_s_reason():
    decision = PYPI.decide(facts(critical=False, joined=NEW), EVERYONE)
    assert "created too recently" in decision.reason
    assert "2022-09-23 20:20 UTC" in decision.reason


def test_policy_from_environment(monkeypatch):
    phases = [
        {"start": "2022-07-08", "rule": "critical-without-2fa"},
        {"start": "2022-09-23", "rule": "account-created-before", "before": "2022-09-23T20:20"},
    ]
    monkeypatch.setenv("BASTION_KEYS_PHASES", json.dumps(phases))
    monkeypatch.setenv("BASTION_KEYS_END_DATE", "2022-10-01")
    monkeypatch.setenv("BASTION_KEYS_PER_ACCOUNT", "2")
    monkeypatch.setenv("BASTION_KEYS_REMINDER_DAYS", "30")
    policy = Policy.from_environment()
    assert [p.rule for p in policy.phases] == ["critical-without-2fa", "account-created-before"]
    assert policy.phases[1].before == datetime(2022, 9, 23, 20, 20, tzinfo=UTC)
    assert policy.end_date == date(2022, 10, 1)
    assert (policy.per_account, policy.reminder_days) == (2, 30)


def test_defaults_open_the_offer_to_critical_maintainers_without_2fa(monkeypatch):
    for name in ("PHASES", "END_DATE", "PER_ACCOUNT", "REMINDER_DAYS"):
        monkeypatch.delenv(f"BASTION_KEYS_{name}", raising=False)
    policy = Policy.from_environment()
    assert [p.rule for p in policy.phases] == ["critical-without-2fa"]
    assert policy.end_date is None
    assert (policy.per_account, policy.reminder_days) == (1, 14)
    assert policy.decide(facts(), date.today()).eligible


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BASTION_KEYS_PHASES", "not json", "not valid JSON"),
        ("BASTION_KEYS_PHASES", '{"start": "2022-01-01"}', "JSON list"),
        ("BASTION_KEYS_PHASES", '[{"start": "2022-01-01", "rule": "everyone"}]', "unknown rule"),
        ("BASTION_KEYS_PHASES", '[{"start": "soon", "rule": "critical-without-2fa"}]', "date"),
        ("BASTION_KEYS_PHASES", '[{"rule": "critical-without-2fa"}]', "needs a 'start'"),
        (
            "BASTION_KEYS_PHASES",
            '[{"start": "2022-01-01", "rule": "account-created-before"}]',
            "'before'",
        ),
        (
            "BASTION_KEYS_PHASES",
            '[{"start": "2022-09-01", "rule": "critical-without-2fa"},'
            ' {"start": "2022-07-01", "rule": "critical-without-security-key"}]',
            "in the order they start",
        ),
        ("BASTION_KEYS_PHASES", "[]", "at least one phase"),
        ("BASTION_KEYS_END_DATE", "October", "BASTION_KEYS_END_DATE"),
        ("BASTION_KEYS_PER_ACCOUNT", "0", "at least one code"),
        ("BASTION_KEYS_PER_ACCOUNT", "one", "whole number"),
    ],
)
def test_a_malformed_setting_is_an_error_not_a_silent_default(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        Policy.from_environment()
