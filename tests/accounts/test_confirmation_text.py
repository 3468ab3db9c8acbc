"""What a new user is told after registering, and which password rules the forms promise."""

import pytest

from bastion.accounts.forms import ResetPasswordForm

from .conftest import link_in, mails_to
from .test_registration import register

pytestmark = pytest.mark.django_db
BREACH_RULE = "appeared in a known data breach"


def test_the_confirmation_says_the_new_user_is_signed_in_and_sends_nobody_to_log_in(
    client, mailbox
):
    page = client.get(register(client)["Location"]).content.decode()
    assert "You are signed in" in page and "log in" not in page.lower().replace("logged in", "")
    (message,) = mails_to(mailbox, "bob@example.org")
    body = message.body
    assert "you are signed in there already" in body
    assert "You need to be logged in" not in body


def test_a_verification_link_opened_elsewhere_explains_the_log_in(client, mailbox):
    register(client)
    (message,) = mails_to(mailbox, "bob@example.org")
    client.cookies.clear()
    login = client.get(link_in(message, "/account/verify-email/"), follow=True)
    assert "To verify the address, log in as the account it belongs to" in login.content.decode()


def test_password_help_promises_no_breach_check_while_none_is_configured(client, settings):
    settings.HIBP_URL = settings.HIBP_RANGE_FILE = None
    page = client.get("/account/register/").content.decode()
    assert "at least 8 characters" in page
    assert BREACH_RULE not in page and "<li></li>" not in page


@pytest.mark.parametrize("source", ["HIBP_URL", "HIBP_RANGE_FILE"])
def test_password_help_names_the_breach_check_when_one_is_configured(client, settings, source):
    settings.HIBP_URL = settings.HIBP_RANGE_FILE = None
    setattr(settings, source, "https://hibp.invalid/range" if source == "HIBP_URL" else "/x")
    assert BREACH_RULE in client.get("/account/register/").content.decode()


def test_every_password_form_follows_the_configuration(client, settings, member):
    settings.HIBP_URL = settings.HIBP_RANGE_FILE = None
    client.force_login(member)
    assert BREACH_RULE not in client.get("/manage/account/").content.decode()
    assert BREACH_RULE not in ResetPasswordForm(member).fields["new_password1"].help_text
    settings.HIBP_RANGE_FILE = "/x"
    assert BREACH_RULE in client.get("/manage/account/").content.decode()
    assert BREACH_RULE in ResetPasswordForm(member).fields["new_password1"].help_text
