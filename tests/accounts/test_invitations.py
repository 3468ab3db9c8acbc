"""BASTION_REGISTRATION: open sign-up, sign-up by an administrator's invitation, or none."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bastion import cli
from bastion.accounts import invitations
from bastion.accounts.models import Invitation, User
from bastion.events.models import SecurityEvent

from .conftest import PASSWORD, link_in, mails_to
from .test_registration import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(mailbox, django_capture_on_commit_callbacks):
    """Invite an address as ``bastion users invite`` does; return the path of the mailed link."""

    def make(email: str = "dora@example.org") -> str:
        with django_capture_on_commit_callbacks(execute=True):
            link = invitations.invite(email=email)
        (message,) = mails_to(mailbox, email)
        path = link_in(message, "/account/invitation/")
        assert link.endswith(path)
        return path

    return make


def accept(client, path: str, username: str = "dora"):
    data = {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    return client.post(path, data)


def test_open_registration_offers_the_register_link(client):
    assert client.get("/account/register/").status_code == 200
    assert b'href="/account/register/"' in client.get("/account/login/").content


@pytest.mark.parametrize("mode", ["invite", "closed"])
def test_without_open_registration_the_register_page_refuses_and_is_not_linked(
    client, settings, mode
):
    settings.REGISTRATION = mode
    assert client.get("/account/register/").status_code == 403
    response = register(client)
    assert response.status_code == 403
    assert not User.objects.filter(username="bob").exists()
    assert b'href="/account/register/"' not in client.get("/account/login/").content
    says = b"by invitation" if mode == "invite" else b"created by its administrators"
    assert says in client.get("/account/register/").content


def test_an_invitation_registers_one_account_with_the_address_verified(client, settings, invite):
    settings.REGISTRATION = "invite"
    path = invite()
    page = client.get(path)
    assert page.status_code == 200 and b"dora@example.org" in page.content

    response = accept(client, path)

    assert response.status_code == 302 and response["Location"] == "/manage/account/"
    dora = User.objects.get(username="dora")
    assert dora.has_verified_primary_email()
    assert dora.primary_email().email == "dora@example.org"
    assert client.get("/manage/account/").status_code == 200  # signed in
    assert Invitation.objects.get().accepted is not None


def test_an_invitation_link_works_only_once(client, settings, invite):
    settings.REGISTRATION = "invite"
    path = invite()
    accept(client, path)
    client.logout()

    assert client.get(path).status_code == 404
    response = accept(client, path, username="mallory")
    assert response.status_code == 404
    assert not User.objects.filter(username="mallory").exists()


def test_an_expired_invitation_does_not_register(client, settings, invite):
    settings.REGISTRATION = "invite"
    path = invite()
    Invitation.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert accept(client, path).status_code == 404
    assert not User.objects.filter(username="dora").exists()


def test_a_forged_invitation_link_does_not_register(client, settings):
    settings.REGISTRATION = "invite"
    assert accept(client, "/account/invitation/not-a-real-secret/").status_code == 404


def test_an_address_with_an_account_is_not_invited(make_user, capsys):
    make_user("erin")
    assert cli.main(["users", "invite", "erin@example.com"]) == 1
    assert "already belongs to an account" in capsys.readouterr().err


def test_the_cli_invites_and_prints_the_link(
    make_user, mailbox, capsys, django_capture_on_commit_callbacks
):
    make_user("root", admin=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert cli.main(["users", "invite", "frank@example.org", "--by", "root"]) == 0
    link = capsys.readouterr().out.strip()
    (message,) = mails_to(mailbox, "frank@example.org")
    assert link in message.body and "root invited you" in message.body
    assert Invitation.objects.get().digest not in link  # only the secret's digest is kept
    assert SecurityEvent.objects.filter(tag="account:invite").exists()


def test_an_administrator_invites_from_the_admin(
    admin_client, mailbox, settings, django_capture_on_commit_callbacks
):
    settings.REGISTRATION = "invite"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:accounts_invitation_add"), {"email": "gina@example.org"}
        )
    assert response.status_code == 302
    (message,) = mails_to(mailbox, "gina@example.org")
    assert "/account/invitation/" in message.body
    assert Invitation.objects.get().invited_by.username == "root"


def test_invitation_links_open_on_a_private_index(client, settings, invite):
    settings.REGISTRATION = "invite"
    settings.READ_ACCESS = "authenticated"
    assert client.get(invite()).status_code == 200


def test_the_admin_refuses_to_invite_an_address_with_an_account(admin_client, make_user):
    make_user("hugo")
    response = admin_client.post(
        reverse("admin:accounts_invitation_add"), {"email": "hugo@example.com"}
    )
    assert response.status_code == 200
    assert b"already belongs to an account" in response.content
    assert not Invitation.objects.exists()
