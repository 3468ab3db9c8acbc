"""Recovery codes: ten, shown once, Argon2 at rest, each good once, replaced wholesale."""

import pytest

from bastion.mfa import services
from bastion.mfa.models import RecoveryCode
from tests.mfa.conftest import ORIGIN


def test_the_first_factor_comes_with_ten_codes_stored_as_argon2(alice, enrol_key):
    codes = enrol_key(alice)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(RecoveryCode.objects.filter(user=alice).values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert all(h.startswith("$argon2id$") for h in stored)
    assert not any(code in h for code in codes for h in stored)


def test_a_second_factor_does_not_replace_the_codes(alice, enrol_key, enrol_totp):
    first = enrol_key(alice)
    enrol_totp(alice)
    services.use_recovery_code(alice, first[0], origin=ORIGIN)


def test_a_code_works_once_and_its_use_is_recorded_and_mailed(alice, enrol_key, mailoutbox):
    codes = enrol_key(alice)
    mailoutbox.clear()
    assert services.use_recovery_code(alice, codes[3].upper(), origin=ORIGIN) == 9
    assert alice.security_events.filter(tag="account:recovery_codes:used").count() == 1
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    assert "recovery code" in mailoutbox[0].subject
    with pytest.raises(services.FactorError, match="already been used"):
        services.use_recovery_code(alice, codes[3], origin=ORIGIN)


def test_codes_are_accepted_as_shown_with_dashes(alice, enrol_key):
    codes = enrol_key(alice)
    shown = services.recovery_codes.display(codes[0])
    assert shown.count("-") == 3
    services.use_recovery_code(alice, shown, origin=ORIGIN)


def test_a_wrong_code_is_refused(alice, enrol_key):
    enrol_key(alice)
    with pytest.raises(services.FactorError, match="not correct"):
        services.use_recovery_code(alice, "0" * 16, origin=ORIGIN)


def test_regenerating_invalidates_every_old_code(alice, enrol_key, mailoutbox):
    old = enrol_key(alice)
    new = services.regenerate_recovery_codes(alice, origin=ORIGIN)
    assert not set(old) & set(new)
    with pytest.raises(services.FactorError):
        services.use_recovery_code(alice, old[0], origin=ORIGIN)
    services.use_recovery_code(alice, new[0], origin=ORIGIN)
    assert alice.security_events.filter(tag="account:recovery_codes:regenerated").exists()


def test_no_codes_without_a_factor(alice):
    with pytest.raises(services.FactorError, match="Add a two-factor method first"):
        services.regenerate_recovery_codes(alice, origin=ORIGIN)
