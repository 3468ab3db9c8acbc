"""Password reset: mailed only to verified addresses, one neutral answer for everyone."""

import pytest
from django.test import Client

from bastion.accounts.models import Email
from bastion.accounts.services import create_user
from bastion.events.models import SecurityEvent

from .conftest import PASSWORD, link_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 31"


def ask_reset(client, address, ip="192.0.2.1"):
    return client.post("/account/reset-password/", {"email": address}, REMOTE_ADDR=ip)


def follow_reset_link(client, message, password=NEW_PASSWORD):
    response = client.get(link_in(message, "/account/reset-password/"))
    assert response.status_code == 302  # the token moves from the URL into the session
    return client.post(response["Location"], {"new_password1": password, "new_password2": password})


def test_a_verified_address_gets_a_link_that_sets_a_new_password(client, member, mailbox):
    ask_reset(client, "Maria@Example.org")
    (message,) = mailbox
    assert message.to == ["maria@example.org"]

    response = follow_reset_link(client, message)
    assert response.status_code == 302 and response["Location"] == "/account/login/"
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    tags = set(SecurityEvent.objects.filter(user=member).values_list("tag", flat=True))
    assert {"account:password:reset:request", "account:password:reset"} <= tags
    assert "was reset" in mailbox[-1].subject


def test_verified_unverified_and_unknown_addresses_get_the_same_answer(client, member, mailbox):
    create_user(username="una", email="una@example.org", password=PASSWORD, verified=False)
    answers = [
        ask_reset(client, address).content
        for address in ("maria@example.org", "una@example.org", "nobody@example.org")
    ]
    assert answers[0] == answers[1] == answers[2]
    assert b"Unverified addresses never receive reset links" in answers[0]
    assert [message.to for message in mailbox] == [["maria@example.org"]]
    attempt = SecurityEvent.objects.get(tag="account:password:reset:attempt")
    assert attempt.user.username == "una" and attempt.additional == {"reason": "unverified"}


def test_a_reset_ends_every_session_and_the_link_works_once(client, member, mailbox):
    elsewhere = Client()
    elsewhere.force_login(member)
    ask_reset(client, "maria@example.org")
    follow_reset_link(client, mailbox[0])
    assert elsewhere.get("/manage/account/").status_code == 302

    response = Client().get(link_in(mailbox[0], "/account/reset-password/"))
    assert response.status_code == 200 and not response.context["validlink"]


def test_a_reset_link_dies_when_its_address_stops_being_verified(client, member, mailbox):
    ask_reset(client, "maria@example.org")
    Email.objects.filter(email="maria@example.org").update(verified=False)
    response = client.get(link_in(mailbox[0], "/account/reset-password/"))
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_a_weak_new_password_is_refused_beside_its_field(client, member, mailbox):
    ask_reset(client, "maria@example.org")
    response = follow_reset_link(client, mailbox[0], password="12345678")
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]


def test_too_many_reset_requests_for_one_address_answer_429(client, member, mailbox):
    for attempt in range(5):
        assert ask_reset(client, "maria@example.org", ip=f"198.51.100.{attempt}").status_code == 200
    response = ask_reset(client, "maria@example.org", ip="203.0.113.1")
    assert (
        response.status_code == 429
        and "Too many password reset requests" in response.content.decode()
    )
    assert len(mailbox) == 5


def test_too_many_reset_requests_from_one_ip_answer_429(client, db):
    for attempt in range(20):
        assert ask_reset(client, f"someone{attempt}@example.org").status_code == 200
    assert ask_reset(client, "another@example.org").status_code == 429
    assert ask_reset(client, "another@example.org", ip="192.0.2.99").status_code == 200
