"""Removing factors: the last one stays while a project requires 2FA; every change is told."""

import pytest

from bastion.accounts.models import Email
from bastion.authz import Code, Refused, factors
from bastion.mfa import services
from bastion.mfa.models import RecoveryCode, WebAuthnCredential
from bastion.packaging.models import Project, Role, RoleName
from tests.mfa.conftest import ORIGIN


@pytest.fixture
def required_project(alice):
    project = Project.objects.create(
        name="Requests", normalized_name="requests", requires_two_factor=True
    )
    Role.objects.create(user=alice, project=project, role_name=RoleName.MAINTAINER)
    return project


def test_the_last_factor_cannot_go_while_a_project_requires_2fa(
    alice, enrol_totp, required_project
):
    enrol_totp(alice)
    with pytest.raises(Refused) as refused:
        factors.remove_totp(alice, origin=ORIGIN)
    assert refused.value.code == Code.LAST_FACTOR
    assert "'Requests'" in refused.value.reason
    assert services.has_two_factor(alice)


def test_one_of_two_factors_can_go_on_a_required_project(
    alice, enrol_totp, enrol_key, required_project
):
    enrol_totp(alice)
    enrol_key(alice, "yubikey")
    factors.remove_totp(alice, origin=ORIGIN)
    assert services.two_factor_methods(alice) == {"webauthn"}
    key = WebAuthnCredential.objects.get(user=alice)
    with pytest.raises(Refused) as refused:
        factors.remove_webauthn(alice, credential_pk=key.pk, origin=ORIGIN)
    assert refused.value.code == Code.LAST_FACTOR


def test_under_the_switch_for_everyone_the_last_factor_cannot_go(alice, enrol_key, monkeypatch):
    """The gate's mandate, not a copy of it: with 2FA required of every account, the last
    factor stays even on no project at all."""
    monkeypatch.setenv("BASTION_REQUIRE_2FA_FOR_ALL", "1")
    enrol_key(alice, "yubikey")
    key = WebAuthnCredential.objects.get(user=alice)
    with pytest.raises(Refused) as refused:
        factors.remove_webauthn(alice, credential_pk=key.pk, origin=ORIGIN)
    assert refused.value.code == Code.LAST_FACTOR
    assert services.has_two_factor(alice)
    monkeypatch.delenv("BASTION_REQUIRE_2FA_FOR_ALL")
    factors.remove_webauthn(alice, credential_pk=key.pk, origin=ORIGIN)
    assert not services.has_two_factor(alice)


def test_without_required_projects_the_last_factor_and_its_codes_can_go(alice, enrol_key):
    enrol_key(alice, "yubikey")
    key = WebAuthnCredential.objects.get(user=alice)
    factors.remove_webauthn(alice, credential_pk=key.pk, origin=ORIGIN)
    assert not services.has_two_factor(alice)
    assert not RecoveryCode.objects.filter(user=alice).exists()


def test_every_change_is_recorded_and_mailed_to_every_verified_address(
    alice, enrol_key, mailoutbox
):
    Email.objects.create(user=alice, email="alice@work.example", verified=True)
    Email.objects.create(user=alice, email="unverified@example.com", verified=False)
    enrol_key(alice, "yubikey")
    added = sorted(m.to[0] for m in mailoutbox if "added" in m.subject)
    assert added == ["alice@example.com", "alice@work.example"]
    mailoutbox.clear()
    key = WebAuthnCredential.objects.get(user=alice)
    factors.remove_webauthn(alice, credential_pk=key.pk, origin=ORIGIN)
    removed = sorted(m.to[0] for m in mailoutbox if "removed" in m.subject)
    assert removed == ["alice@example.com", "alice@work.example"]
    tags = list(alice.security_events.values_list("tag", "additional__label"))
    assert ("account:two_factor:method_added", "yubikey") in tags
    assert ("account:two_factor:method_removed", "yubikey") in tags


def test_someone_elses_key_cannot_be_removed(alice, make_user, enrol_key, authenticator):
    bob = make_user("bob")
    enrol_key(alice)
    key = WebAuthnCredential.objects.get(user=alice)
    with pytest.raises(services.FactorError, match="no such key"):
        factors.remove_webauthn(bob, credential_pk=key.pk, origin=ORIGIN)
