"""`bastion users show --json` reports the two-factor state."""

import json

from bastion.cli import main
from bastion.mfa.models import WebAuthnCredential
from tests.mfa.conftest import ORIGIN


def _show(capsys) -> dict:
    assert main(["users", "show", "alice", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_new_account_reports_no_factors(alice, capsys):
    assert _show(capsys)["two_factor"] == {
        "totp": False,
        "webauthn_keys": 0,
        "passkeys": 0,
        "recovery_codes_left": 0,
    }


def test_factors_and_codes_left_are_counted(alice, capsys, enrol_totp, enrol_key, authenticator):
    from bastion.mfa import services
    from tests.mfa.authenticator import SoftAuthenticator

    enrol_totp(alice)
    assert enrol_key(alice, "yubikey") is None  # the first factor (TOTP) brought the codes
    enrol_key(alice, "phone", passkey=True, device=SoftAuthenticator(authenticator.origin))
    assert WebAuthnCredential.objects.filter(user=alice).count() == 2
    first_code = services.regenerate_recovery_codes(alice, origin=ORIGIN)[0]
    services.use_recovery_code(alice, first_code, origin=ORIGIN)
    assert _show(capsys)["two_factor"] == {
        "totp": True,
        "webauthn_keys": 1,
        "passkeys": 1,
        "recovery_codes_left": 9,
    }
