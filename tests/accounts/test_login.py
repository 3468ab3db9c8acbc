"""Logging in and out, session rotation, password change ending other sessions, login limits."""

import re

import pytest
from django.conf import settings
from django.test import Client

from bastion.accounts import ratelimit
from bastion.events.models import SecurityEvent

from .conftest import PASSWORD, mails_to
from .test_reset import follow_reset_link

pytestmark = pytest.mark.django_db


def log_in(client, username="maria", password=PASSWORD, ip="192.0.2.1", **extra):
    return client.post(
        "/account/login/", {"username": username, "password": password, **extra}, REMOTE_ADDR=ip
    )


def tags(user) -> list[str]:
    return list(SecurityEvent.objects.filter(user=user).values_list("tag", flat=True))


def test_logging_in_starts_a_session_and_records_the_event(client, member):
    response = log_in(client)
    assert response.status_code == 302 and response["Location"] == "/manage/account/"
    assert client.get("/manage/account/").status_code == 200
    event = SecurityEvent.objects.get(user=member, tag="account:login:success")
    assert event.ip_address == "192.0.2.1" and event.additional == {"method": "password"}


def test_login_rotates_the_session_key_and_the_csrf_token(client, member):
    client.get("/account/login/")
    session = client.session
    session["before-login"] = True
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf_before = client.cookies[settings.CSRF_COOKIE_NAME].value

    log_in(client)
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before
    assert client.cookies[settings.CSRF_COOKIE_NAME].value != csrf_before


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, member):
    wrong = log_in(client, password="not the password")
    unknown = log_in(client, username="nobody")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [
            "The username or password is not correct."
        ]
    failure = SecurityEvent.objects.get(user=member, tag="account:login:failure")
    assert failure.additional == {"reason": "invalid_password"}
    assert "_auth_user_id" not in client.session


def test_the_username_is_matched_without_regard_to_case(client, member):
    assert log_in(client, username="MARIA").status_code == 302


def test_login_follows_a_local_next_but_never_another_site(client, member):
    assert log_in(client, next="/manage/account/?tab=1")["Location"] == "/manage/account/?tab=1"
    client.post("/account/logout/")
    assert log_in(client, next="https://evil.example/")["Location"] == "/manage/account/"


def test_logout_is_a_post_that_ends_the_session(logged_in, member):
    assert logged_in.get("/account/logout/").status_code == 405
    response = logged_in.post("/account/logout/")
    assert response.status_code == 302
    assert logged_in.get("/manage/account/").status_code == 302
    assert "account:logout" in tags(member)


def test_changing_the_password_logs_out_every_other_session(member, mailbox):
    here, elsewhere = Client(), Client()
    log_in(here)
    log_in(elsewhere, ip="192.0.2.2")
    new = "another long passphrase 77"
    response = here.post(
        "/manage/account/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert here.get("/manage/account/").status_code == 200
    assert elsewhere.get("/manage/account/").status_code == 302
    assert "account:password:change" in tags(member)
    (notice,) = mails_to(mailbox, "maria@example.org")
    assert "password was changed" in notice.subject


def test_a_password_change_needs_the_current_password_and_shows_errors_beside_fields(logged_in):
    response = logged_in.post(
        "/manage/account/password/",
        {"old_password": "wrong", "new_password1": "password", "new_password2": "password"},
    )
    assert response.status_code == 400
    form = response.context["password_form"]
    assert set(form.errors) >= {"old_password"}
    page = response.content.decode()
    # The field points screen readers at its error list (Django names it <id>_error).
    (described,) = re.findall(r'<input[^>]*id="id_old_password"[^>]*>', page)
    (references,) = re.findall(r'aria-describedby="([^"]*)"', described)
    assert "id_old_password_error" in references.split()
    assert all(f'id="{reference}"' in page for reference in references.split())


def test_too_many_failed_logins_for_one_account_answer_429_even_with_the_right_password(
    client, member
):
    for attempt in range(10):
        assert log_in(client, password="wrong", ip=f"198.51.100.{attempt}").status_code == 200
    response = log_in(client, ip="203.0.113.9")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_too_many_failed_logins_from_one_ip_answer_429_for_every_account(client, member):
    for attempt in range(10):
        log_in(client, username=f"guess{attempt}", password="wrong", ip="198.51.100.7")
    assert log_in(client, ip="198.51.100.7").status_code == 429
    assert log_in(client, ip="198.51.100.8").status_code == 302


def test_successful_logins_do_not_count_against_the_limits(client, member):
    for _ in range(12):
        assert log_in(client).status_code == 302
        client.post("/account/logout/")
    assert ratelimit.LOGIN_PER_ACCOUNT.retry_after("maria") is None


def test_an_empty_login_form_shows_an_error_beside_each_field(client, db):
    response = client.post("/account/login/", {})
    html = response.content.decode()
    for name in ("username", "password"):
        assert f'<label for="id_{name}">' in html
        assert f'id="id_{name}_error"' in html


@pytest.fixture
def breach_list(tmp_path, settings):
    """An offline Pwned Passwords file that lists the member's password."""
    import hashlib

    listed = hashlib.sha1(PASSWORD.encode(), usedforsecurity=False).hexdigest().upper()
    path = tmp_path / "pwned.txt"
    path.write_text(f"{listed}:3\n")
    settings.HIBP_URL = None
    settings.HIBP_RANGE_FILE = str(path)


def test_a_breached_password_logs_no_one_in_and_mails_a_reset_link(
    client, member, breach_list, mailbox
):
    response = log_in(client)
    assert response.status_code == 200
    assert "appeared in a data breach" in response.content.decode()
    assert client.get("/manage/account/").status_code == 302  # not logged in
    member.refresh_from_db()
    assert not member.has_usable_password()
    assert "account:password:disabled" in tags(member)
    (mail,) = mails_to(mailbox, "maria@example.org")
    assert "found in a data breach" in mail.subject
    assert log_in(client).status_code == 200  # the old password stays refused
    new = "a fresh passphrase nobody leaked 7"
    assert follow_reset_link(Client(), mail, new).status_code == 302
    assert log_in(client, password=new).status_code == 302


def test_a_wrong_password_that_is_breached_changes_nothing(client, member, breach_list):
    assert "not correct" in log_in(client, password="password").content.decode()
    member.refresh_from_db()
    assert member.has_usable_password()


def test_guessing_the_current_password_on_the_change_form_is_limited_and_recorded(logged_in):
    """Red-team finding: a signed-in session (a laptop left open, a remembered device) could
    guess the password on the change form without limit and without a trace."""
    from bastion.events.models import SecurityEvent as Event

    answers = [
        logged_in.post(
            "/manage/account/password/",
            {"old_password": f"guess {n}", "new_password1": "x", "new_password2": "x"},
        ).status_code
        for n in range(12)
    ]

    assert answers[:10] == [400] * 10 and answers[10:] == [429, 429]
    assert Event.objects.filter(tag="account:login:failure").count() == 10
