"""The two-factor management pages, driven as a browser would (minus the JavaScript)."""

import json
import re
import time

import pytest
from django.urls import reverse

from bastion.mfa import services
from bastion.mfa.models import RecoveryCode, WebAuthnCredential
from bastion.packaging.models import Project, Role, RoleName
from tests.mfa.conftest import code_at


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)  # no factor yet: the sign-in counts as a fresh confirmation
    return client


def test_enrolling_totp_shows_qr_and_secret_then_the_codes_once(alice_client, alice):
    page = alice_client.get(reverse("mfa:totp-provision")).content.decode()
    assert "<svg" in page
    secret = re.search(r'data-secret="([A-Z2-7]{32})"', page).group(1)
    assert 'for="id_code"' in page  # the field has a label
    wrong = alice_client.post(reverse("mfa:totp-provision"), {"code": "000000"})
    assert wrong.status_code == 400 and b"not correct" in wrong.content
    done = alice_client.post(reverse("mfa:totp-provision"), {"code": code_at(secret, time.time())})
    assert done.url == reverse("mfa:recovery-codes")
    codes_page = alice_client.get(done.url).content.decode()
    shown = re.findall(
        r"<code>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</code>", codes_page
    )
    assert len(shown) == 10
    assert alice_client.get(done.url).url == reverse("mfa:manage")  # shown only once
    services.use_recovery_code(alice, shown[0], origin=services.Origin())


def test_registering_a_key_through_the_json_endpoints(alice_client, alice, authenticator):
    options = alice_client.post(reverse("mfa:webauthn-add-options"), {"kind": "key"}).json()
    answer = alice_client.post(
        reverse("mfa:webauthn-add-verify"),
        json.dumps(
            {
                "credential": authenticator.create(options),
                "fields": {"label": "YubiKey", "kind": "key"},
            }
        ),
        content_type="application/json",
    )
    assert answer.json() == {"redirect": reverse("mfa:recovery-codes")}
    key = WebAuthnCredential.objects.get(user=alice)
    assert key.label == "YubiKey" and not key.discoverable and key.transports == ["usb"]


def test_a_registration_answer_is_good_for_one_challenge_only(alice_client, authenticator):
    options = alice_client.post(reverse("mfa:webauthn-add-options"), {"kind": "key"}).json()
    body = json.dumps({"credential": authenticator.create(options), "fields": {"label": "a"}})
    url = reverse("mfa:webauthn-add-verify")
    assert alice_client.post(url, body, content_type="application/json").status_code == 200
    again = alice_client.post(url, body, content_type="application/json")
    assert again.status_code == 403


def test_removing_the_last_factor_of_a_required_project_says_why(alice_client, alice, enrol_key):
    enrol_key(alice, "only key")
    project = Project.objects.create(
        name="Guarded", normalized_name="guarded", requires_two_factor=True
    )
    Role.objects.create(user=alice, project=project, role_name=RoleName.MAINTAINER)
    key = WebAuthnCredential.objects.get(user=alice)
    response = alice_client.post(reverse("mfa:webauthn-remove", args=[key.pk]), follow=True)
    page = response.content.decode()
    assert "You cannot remove your last two-factor method: &#x27;Guarded&#x27; requires" in page
    assert WebAuthnCredential.objects.filter(pk=key.pk).exists()


def test_regenerating_codes_from_the_page(alice_client, alice, enrol_key):
    old = enrol_key(alice)
    response = alice_client.post(reverse("mfa:recovery-codes"))
    assert response.url == reverse("mfa:recovery-codes")
    assert alice_client.get(response.url).status_code == 200
    assert RecoveryCode.objects.filter(user=alice).count() == 10
    with pytest.raises(services.FactorError):
        services.use_recovery_code(alice, old[0], origin=services.Origin())


def test_the_overview_lists_factors_and_codes_left(alice_client, alice, enrol_key):
    enrol_key(alice, "Desk key")
    page = alice_client.get(reverse("mfa:manage")).content.decode()
    assert "Desk key" in page and "10 unused recovery codes left" in page
    assert "Two-factor authentication is <strong>on</strong>" in page
