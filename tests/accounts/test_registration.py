"""Registration and email verification by a signed, expiring link."""

import time
from email import message_from_bytes

import pytest
from django.core import signing
from django.test import Client

from bastion import authz
from bastion.accounts import services
from bastion.accounts.models import Email, User
from bastion.events.models import SecurityEvent

from .conftest import PASSWORD, link_in, mails_to

pytestmark = pytest.mark.django_db


def register(client, username="bob", email="bob@example.org", password=PASSWORD, again=None):
    return client.post(
        "/account/register/",
        {
            "username": username,
            "email": email,
            "password1": password,
            "password2": again or password,
        },
    )


def test_registration_logs_in_and_mails_a_link_that_verifies_the_address(client, mailbox):
    response = register(client)
    assert response.status_code == 302 and response["Location"] == "/manage/account/"
    user = User.objects.get(username="bob")
    assert not user.has_verified_primary_email()
    assert "account:create" in set(user.security_events.values_list("tag", flat=True))

    (message,) = mails_to(mailbox, "bob@example.org")
    response = client.get(link_in(message, "/account/verify-email/"))
    assert response.status_code == 302
    assert user.has_verified_primary_email()
    email = user.primary_email()
    assert email.verified_at is not None
    assert SecurityEvent.objects.filter(user=user, tag="account:email:verified").exists()


def test_the_outbox_in_the_data_directory_receives_the_verification_mail(
    client, settings, tmp_path
):
    """The default backend writes files; read one back and follow its link like a person would."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "outbox"
    register(client, username="carol", email="carol@example.org")

    (written,) = list((tmp_path / "outbox").iterdir())
    message = message_from_bytes(written.read_bytes())
    assert message["To"] == "carol@example.org"
    assert message["Subject"] == "Verify your email address on Bastion"
    body = message.get_payload(decode=True).decode()
    client.get(link_in(body, "/account/verify-email/"))
    assert User.objects.get(username="carol").has_verified_primary_email()


def test_an_unverified_primary_address_is_refused_by_the_gate_until_verified(client, mailbox):
    register(client)
    user = User.objects.get(username="bob")
    decision = authz.may(authz.Actor(user=user), authz.Action.CREATE_TOKEN)
    assert decision.code == authz.Code.EMAIL_UNVERIFIED
    client.get(link_in(mailbox[0], "/account/verify-email/"))
    assert authz.may(authz.Actor(user=user), authz.Action.CREATE_TOKEN).allowed


def test_the_verification_link_needs_the_owner_logged_in(client, mailbox, make_user):
    register(client)
    link = link_in(mailbox[0], "/account/verify-email/")
    client.post("/account/logout/")

    response = client.get(link)
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")
    client.force_login(make_user("mallory"))
    client.get(link)
    assert not User.objects.get(username="bob").has_verified_primary_email()


def test_an_expired_or_forged_verification_link_is_refused(client, mailbox):
    register(client)
    email = Email.objects.get(email="bob@example.org")

    class DayOldSigner(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - services.VERIFY_MAX_AGE - 60)

    state = services._verification_state(email)
    expired = DayOldSigner(salt=services.VERIFY_SALT).sign_object({"id": email.pk, "state": state})
    response = client.get(f"/account/verify-email/{expired}/", follow=True)
    assert "expired" in response.content.decode()

    forged = signing.dumps({"id": email.pk, "state": state}, salt="another purpose")
    response = client.get(f"/account/verify-email/{forged}/", follow=True)
    assert "not valid" in response.content.decode()
    email.refresh_from_db()
    assert not email.verified


def test_a_common_password_is_refused_beside_the_password_field(client, mailbox):
    response = register(client, password="password123")
    assert response.status_code == 200
    assert not User.objects.filter(username="bob").exists()
    form = response.context["form"]
    assert "too common" in " ".join(form.errors["password1"])
    assert mailbox == []


def test_a_taken_username_or_address_is_reported_on_its_field(client, mailbox, member):
    response = register(client, username="MARIA", email="MARIA@example.org")
    form = response.context["form"]
    assert "taken" in " ".join(form.errors["username"])
    assert "already in use" in " ".join(form.errors["email"])


def test_the_registration_page_labels_every_field_and_carries_a_csrf_token(client):
    html = client.get("/account/register/").content.decode()
    for name in ("username", "email", "password1", "password2"):
        assert f'<label for="id_{name}">' in html
    assert "csrfmiddlewaretoken" in html


def test_the_sixth_registration_from_one_address_within_an_hour_is_refused(mailbox):
    for number in range(5):
        assert register(Client(), f"user{number}", f"user{number}@example.org").status_code == 302
    response = register(Client(), "user5", "user5@example.org")
    assert response.status_code == 429
    assert "Too many new accounts" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert not User.objects.filter(username="user5").exists()


def test_a_password_like_the_email_address_is_refused_at_registration_and_later(client):
    """UI review finding: Django's "too similar to your other personal information" rule reads
    ``user.email``, which Bastion leaves empty, so a password equal to the address passed."""
    address = "frank.smith.builder@example.com"

    refused = register(client, username="frankly", email=address, password=address)

    assert refused.status_code == 200 and not User.objects.filter(username="frankly").exists()
    assert "too similar to the email address" in refused.content.decode()
    user = services.create_user(username="frankly", email=address, password=PASSWORD)
    client.force_login(user)
    change = client.post(
        "/manage/account/password/",
        {"old_password": PASSWORD, "new_password1": address, "new_password2": address},
    )
    assert change.status_code == 400
    assert "too similar to the email address" in change.content.decode()
