"""TOTP: codes from other implementations work, replays and distant codes do not."""

import subprocess
import time

import pytest

from bastion.mfa import crypto, services, totp
from bastion.mfa.models import TOTPDevice
from tests.mfa.conftest import ORIGIN, code_at
from tests.tools import require_executable


def test_code_computed_by_oathtool_from_the_shown_secret_is_accepted(alice):
    oathtool = require_executable("oathtool")
    secret = totp.new_secret()
    code = subprocess.run(
        [oathtool, "--totp", "--base32", secret], capture_output=True, text=True, check=True
    ).stdout.strip()
    services.confirm_totp(alice, secret=secret, code=code, origin=ORIGIN)
    assert services.two_factor_methods(alice) == {"totp"}
    # A later step, again from oathtool, signs in.
    later = subprocess.run(
        [oathtool, "--totp", "--base32", "--now", _in_30s(), secret],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    services.verify_totp(alice, later, origin=ORIGIN)


def _in_30s() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + 30))


def test_secret_is_160_bits_of_base32_and_uri_names_issuer_and_user(alice):
    secret = totp.new_secret()
    assert len(secret) == 32
    uri = totp.provisioning_uri(secret, "alice")
    assert uri.startswith("otpauth://totp/Bastion:alice?")
    assert f"secret={secret}" in uri
    assert totp.qr_code_svg(uri).startswith("<svg")


def test_enrolment_needs_a_correct_code(alice):
    secret = totp.new_secret()
    with pytest.raises(services.FactorError, match="not correct"):
        services.confirm_totp(alice, secret=secret, code="000000", origin=ORIGIN)
    assert not services.has_two_factor(alice)


def test_secret_is_stored_encrypted(alice, enrol_totp):
    secret = enrol_totp(alice)
    stored = TOTPDevice.objects.get(user=alice).encrypted_secret
    assert secret not in stored
    assert crypto.decrypt(stored) == secret


def test_a_tampered_ciphertext_is_refused():
    token = crypto.encrypt("JBSWY3DPEHPK3PXP")
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))


def test_codes_one_step_either_side_are_accepted(alice):
    secret = totp.new_secret()
    TOTPDevice.objects.create(user=alice, encrypted_secret=crypto.encrypt(secret))
    services.verify_totp(alice, code_at(secret, time.time() - 30), origin=ORIGIN)
    services.verify_totp(alice, code_at(secret, time.time() + 30), origin=ORIGIN)


def test_a_used_code_is_refused(alice, enrol_totp):
    secret = enrol_totp(alice)
    code = code_at(secret, time.time())
    services.verify_totp(alice, code, origin=ORIGIN)
    with pytest.raises(services.FactorError, match="already been used"):
        services.verify_totp(alice, code, origin=ORIGIN)


def test_an_older_unused_code_is_refused_after_a_newer_one(alice, enrol_totp):
    secret = enrol_totp(alice)
    services.verify_totp(alice, code_at(secret, time.time() + 30), origin=ORIGIN)
    with pytest.raises(services.FactorError, match="already been used"):
        services.verify_totp(alice, code_at(secret, time.time()), origin=ORIGIN)


def test_the_enrolment_code_cannot_be_replayed_to_sign_in(alice):
    secret = totp.new_secret()
    code = code_at(secret, time.time())
    services.confirm_totp(alice, secret=secret, code=code, origin=ORIGIN)
    with pytest.raises(services.FactorError, match="already been used"):
        services.verify_totp(alice, code, origin=ORIGIN)


@pytest.mark.parametrize("offset", [-60, 60, -300])
def test_a_code_two_or_more_steps_off_is_refused_as_out_of_sync(alice, enrol_totp, offset):
    secret = enrol_totp(alice)
    with pytest.raises(services.FactorError, match="out of sync"):
        services.verify_totp(alice, code_at(secret, time.time() + offset), origin=ORIGIN)


def test_wrong_and_malformed_codes_are_refused_and_recorded(alice, enrol_totp):
    enrol_totp(alice)
    for bad in ("12345", "abcdef"):
        with pytest.raises(services.FactorError):
            services.verify_totp(alice, bad, origin=ORIGIN)
    reasons = list(
        alice.security_events.filter(tag="account:login:failure").values_list(
            "additional__reason", flat=True
        )
    )
    assert reasons == ["invalid_totp", "invalid_totp"]


def test_spaces_inside_a_code_are_forgiven():
    assert totp.normalize(" 123 456 ") == "123456"
    assert totp.normalize("12345a") is None


def test_a_user_without_an_app_cannot_pass_totp(alice):
    with pytest.raises(services.FactorError):
        services.verify_totp(alice, "123456", origin=ORIGIN)
