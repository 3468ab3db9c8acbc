"""has_two_factor and two_factor_methods: the questions the gate and the mandate ask."""

from bastion.mfa.models import WebAuthnCredential
from bastion.mfa.services import has_two_factor, two_factor_methods


def _key(user, label: str, *, discoverable: bool = False) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user,
        label=label,
        credential_id=f"cred-{user.pk}-{label}",
        public_key=b"\x00",
        discoverable=discoverable,
    )


def test_a_new_account_has_no_second_factor(alice):
    assert has_two_factor(alice) is False
    assert two_factor_methods(alice) == set()


def test_an_authenticator_app_counts_as_totp(alice, enrol_totp):
    enrol_totp(alice)
    assert has_two_factor(alice) is True
    assert two_factor_methods(alice) == {"totp"}


def test_security_keys_and_passkeys_are_told_apart(alice):
    _key(alice, "yubikey")
    assert two_factor_methods(alice) == {"webauthn"}
    _key(alice, "phone", discoverable=True)
    assert two_factor_methods(alice) == {"webauthn", "passkey"}
    assert has_two_factor(alice) is True


def test_a_passkey_alone_is_a_second_factor(alice):
    _key(alice, "laptop", discoverable=True)
    assert has_two_factor(alice) is True
    assert two_factor_methods(alice) == {"passkey"}


def test_factors_of_one_user_do_not_count_for_another(alice, make_user, enrol_totp):
    bob = make_user("bob")
    enrol_totp(alice)
    _key(alice, "key")
    assert has_two_factor(bob) is False
    assert two_factor_methods(bob) == set()


def test_an_unsaved_user_has_no_factors(django_user_model):
    assert has_two_factor(django_user_model(username="ghost")) is False
    assert two_factor_methods(django_user_model(username="ghost")) == set()
