"""Secondary addresses: add, verify, make primary, remove; each change is recorded and mailed."""

import re

import pytest

from bastion.accounts.models import Email
from bastion.events.models import SecurityEvent

from .conftest import link_in, mails_to

pytestmark = pytest.mark.django_db


def add(client, address):
    return client.post("/manage/account/emails/add/", {"email": address})


def event(user, tag) -> dict:
    return SecurityEvent.objects.get(user=user, tag=tag).additional


def test_adding_an_address_mails_it_a_link_and_tells_the_verified_ones(logged_in, member, mailbox):
    assert add(logged_in, "maria@work.example").status_code == 302
    (link_mail,) = mails_to(mailbox, "maria@work.example")
    (notice,) = mails_to(mailbox, "maria@example.org")
    assert "maria@work.example" in notice.body
    assert event(member, "account:email:add") == {"email": "maria@work.example"}

    logged_in.get(link_in(link_mail, "/account/verify-email/"))
    assert Email.objects.get(email="maria@work.example").verified
    assert event(member, "account:email:verified") == {"email": "maria@work.example"}
    assert len(mails_to(mailbox, "maria@work.example")) == 2  # the link, then the notice


def test_an_address_in_use_is_refused_whatever_its_case(logged_in, make_user, mailbox):
    make_user("other")
    response = add(logged_in, "OTHER@example.com")
    assert response.status_code == 400
    assert response.context["add_form"].errors["email"] == ["That email address is already in use."]
    assert mailbox == []


def test_a_verified_address_can_become_primary_and_both_addresses_are_told(
    logged_in, member, mailbox
):
    secondary = Email.objects.create(user=member, email="maria@work.example", verified=True)
    response = logged_in.post(f"/manage/account/emails/{secondary.pk}/primary/")
    assert response.status_code == 302
    assert member.primary_email() == secondary
    assert event(member, "account:email:primary:change") == {
        "old": "maria@example.org",
        "new": "maria@work.example",
    }
    assert {m.to[0] for m in mailbox} == {"maria@example.org", "maria@work.example"}


def test_an_unverified_address_cannot_become_primary(logged_in, member, mailbox):
    secondary = Email.objects.create(user=member, email="maria@work.example")
    response = logged_in.post(f"/manage/account/emails/{secondary.pk}/primary/", follow=True)
    assert "Only a verified address can be primary" in response.content.decode()
    assert member.primary_email().email == "maria@example.org"


def test_the_primary_address_cannot_be_removed(logged_in, member):
    primary = member.primary_email()
    response = logged_in.post(f"/manage/account/emails/{primary.pk}/remove/", follow=True)
    assert "remove your primary address" in response.content.decode()
    assert Email.objects.filter(pk=primary.pk).exists()


def test_removing_an_address_records_it_and_tells_the_removed_and_remaining_addresses(
    logged_in, member, mailbox
):
    secondary = Email.objects.create(user=member, email="maria@work.example", verified=True)
    assert logged_in.post(f"/manage/account/emails/{secondary.pk}/remove/").status_code == 302
    assert not Email.objects.filter(pk=secondary.pk).exists()
    assert event(member, "account:email:remove") == {"email": "maria@work.example"}
    assert {m.to[0] for m in mailbox} == {"maria@example.org", "maria@work.example"}


def test_nobody_can_act_on_another_accounts_address(logged_in, make_user):
    theirs = make_user("other").primary_email()
    for action in ("remove", "primary", "resend"):
        response = logged_in.post(f"/manage/account/emails/{theirs.pk}/{action}/", follow=True)
        assert "not on your account" in response.content.decode()
    assert Email.objects.filter(pk=theirs.pk).exists()


def test_resending_a_link_mails_the_unverified_address(logged_in, member, mailbox):
    secondary = Email.objects.create(user=member, email="maria@work.example")
    logged_in.post(f"/manage/account/emails/{secondary.pk}/resend/")
    (message,) = mailbox
    assert message.to == ["maria@work.example"] and "/account/verify-email/" in message.body


def test_a_link_for_an_address_that_was_unverified_since_no_longer_works(
    logged_in, member, mailbox
):
    secondary = Email.objects.create(user=member, email="maria@work.example")
    logged_in.post(f"/manage/account/emails/{secondary.pk}/resend/")
    link = link_in(mailbox[0], "/account/verify-email/")
    Email.objects.filter(pk=secondary.pk).update(unverified_reason="domain-expired")
    response = logged_in.get(link, follow=True)
    assert "no longer valid" in response.content.decode()
    assert not Email.objects.get(pk=secondary.pk).verified


def test_the_account_page_needs_a_login_and_forms_carry_csrf_tokens(client, logged_in):
    assert client.__class__().get("/manage/account/")["Location"].startswith("/account/login/")
    html = logged_in.get("/manage/account/").content.decode()
    post_forms = re.findall(r'<form[^>]*method="post"', html)  # the header's search is a GET
    assert html.count("csrfmiddlewaretoken") == len(post_forms) > 0
    assert '<label for="id_email">' in html and '<label for="id_old_password">' in html
