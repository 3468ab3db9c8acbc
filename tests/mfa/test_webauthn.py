"""Security keys and passkeys, checked with a software authenticator (fido2's structures)."""

import pytest

from bastion.mfa import services
from bastion.mfa.models import WebAuthnCredential
from tests.mfa.authenticator import SoftAuthenticator
from tests.mfa.conftest import ORIGIN


def _sign_in(user, device, **kwargs):
    options, challenge = services.webauthn_authentication_options(user)
    return services.verify_webauthn(
        device.get(options, **kwargs), challenge, user=user, origin=ORIGIN
    )


def test_several_keys_each_with_its_own_label(alice, enrol_key, authenticator):
    enrol_key(alice, "yubikey")
    enrol_key(alice, "titan", device=SoftAuthenticator(authenticator.origin))
    labels = list(WebAuthnCredential.objects.filter(user=alice).values_list("label", flat=True))
    assert labels == ["yubikey", "titan"]
    assert services.two_factor_methods(alice) == {"webauthn"}


def test_a_label_is_unique_per_user(alice, enrol_key, authenticator):
    enrol_key(alice, "yubikey")
    with pytest.raises(services.FactorError, match="already have a key named 'yubikey'"):
        enrol_key(alice, "yubikey", device=SoftAuthenticator(authenticator.origin))


def test_options_ask_for_no_attestation_and_preferred_verification(alice):
    import json

    options = json.loads(services.webauthn_registration_options(alice, passkey=False)[0])
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["rp"]["id"] == "localhost"


def test_relying_party_comes_from_the_base_url(alice, settings):
    settings.BASE_URL = "https://pypi.example.org"
    options, challenge = services.webauthn_registration_options(alice, passkey=False)
    with pytest.raises(services.FactorError, match="could not be verified"):
        services.add_webauthn(
            alice,
            credential=SoftAuthenticator("https://evil.example.net").create(options),
            challenge=challenge,
            label="key",
            passkey=False,
            origin=ORIGIN,
        )
    assert '"id": "pypi.example.org"' in options


def test_a_registered_key_signs_in_and_its_counter_moves(alice, enrol_key, authenticator):
    enrol_key(alice, "yubikey")
    key = _sign_in(alice, authenticator)
    assert key.label == "yubikey"
    assert WebAuthnCredential.objects.get(pk=key.pk).sign_count == 1
    _sign_in(alice, authenticator)
    assert WebAuthnCredential.objects.get(pk=key.pk).sign_count == 2


def test_a_challenge_cannot_be_answered_by_another_users_key(alice, make_user, enrol_key):
    bob = make_user("bob")
    bobs_device = SoftAuthenticator("http://localhost:8000")
    enrol_key(bob, "bob's key", device=bobs_device)
    enrol_key(alice, "alice's key")
    options, challenge = services.webauthn_authentication_options(bob)
    with pytest.raises(services.FactorError, match="not registered to this account"):
        services.verify_webauthn(bobs_device.get(options), challenge, user=alice, origin=ORIGIN)


def test_a_wrong_challenge_is_refused(alice, enrol_key, authenticator):
    enrol_key(alice)
    options, _ = services.webauthn_authentication_options(alice)
    _, other_challenge = services.webauthn_authentication_options(alice)
    with pytest.raises(services.FactorError):
        services.verify_webauthn(
            authenticator.get(options), other_challenge, user=alice, origin=ORIGIN
        )


def test_a_counter_going_backwards_flags_a_cloned_key(alice, enrol_key, authenticator, mailoutbox):
    enrol_key(alice, "yubikey")
    _sign_in(alice, authenticator)
    _sign_in(alice, authenticator)  # counter is now 2
    mailoutbox.clear()
    with pytest.raises(services.FactorError, match="may have been cloned"):
        _sign_in(alice, authenticator, sign_count=1)
    key = WebAuthnCredential.objects.get(user=alice)
    assert key.clone_suspected_at is not None
    assert key.sign_count == 2
    event = alice.security_events.get(tag="account:two_factor:clone_suspected")
    assert event.additional["label"] == "yubikey"
    assert event.additional["reported_sign_count"] == 1
    assert [m.subject for m in mailoutbox] == ['Your security key "yubikey" may have been cloned']


def test_an_unsigned_low_counter_does_not_raise_the_alarm(alice, enrol_key, authenticator):
    enrol_key(alice)
    _sign_in(alice, authenticator)
    options, challenge = services.webauthn_authentication_options(alice)
    answer = authenticator.get(options, sign_count=0)
    answer["response"]["signature"] = answer["response"]["signature"][::-1]
    with pytest.raises(services.FactorError, match="could not be verified"):
        services.verify_webauthn(answer, challenge, user=alice, origin=ORIGIN)
    assert WebAuthnCredential.objects.get(user=alice).clone_suspected_at is None


def test_a_passkey_signs_in_with_no_username(alice, enrol_key, authenticator):
    enrol_key(alice, "laptop", passkey=True)
    assert services.two_factor_methods(alice) == {"passkey"}
    options, challenge = services.webauthn_authentication_options(None)
    assert '"allowCredentials": []' in options
    key = services.verify_webauthn(authenticator.get(options), challenge, user=None, origin=ORIGIN)
    assert key.user == alice


def test_a_passkey_needs_user_verification(alice, enrol_key, settings):
    device = SoftAuthenticator("http://localhost:8000", user_verified=False)
    with pytest.raises(services.FactorError, match="could not be verified"):
        enrol_key(alice, "no pin", passkey=True, device=device)


def test_a_security_key_cannot_sign_in_without_a_password(alice, enrol_key, authenticator):
    enrol_key(alice, "yubikey")  # not discoverable
    options, challenge = services.webauthn_authentication_options(None)
    with pytest.raises(services.FactorError):
        services.verify_webauthn(authenticator.get(options), challenge, user=None, origin=ORIGIN)


def test_the_same_key_cannot_be_registered_twice(alice, enrol_key, authenticator):
    enrol_key(alice, "one")
    options, _ = services.webauthn_registration_options(alice, passkey=False)
    with pytest.raises(ValueError, match="already registered"):
        authenticator.create(options)  # the browser refuses, because the key is excluded
