"""The read path of a private index: pages and files need a token (or a session) and say so
with 401, never 404; verdicts are cached so an installer's requests cost no query each."""

import pytest
from django.test import Client
from django.utils import timezone

from bastion.tokens.models import APIToken
from bastion.tokens.services import revoke
from tests.private_reads import basic

PAGE = "/simple/holy-grail/"


@pytest.fixture
def file_url(holy_grail) -> str:
    return f"/files/{holy_grail.releases.get(version='1.0').files.first().path}"


def test_a_public_index_serves_pages_without_credentials(index, holy_grail):
    assert index.get(PAGE).status == 200


@pytest.mark.parametrize("path", ["/simple/", PAGE, "/simple/no-such-project/"])
def test_pages_without_credentials_get_401_with_a_basic_challenge(
    private_index, index, holy_grail, path
):
    answer = index.get(path)
    assert answer.status == 401  # never 404: pip asks its keyring or the user only after a 401
    assert answer.header("WWW-Authenticate") == 'Basic realm="Bastion"'
    assert b"__token__" in answer.body


def test_files_and_metadata_without_credentials_get_401(private_index, index, file_url):
    assert index.get(file_url).status == 401
    assert index.get(file_url + ".metadata").status == 401
    assert index.head(file_url).status == 401


@pytest.mark.parametrize(
    "authorization",
    [
        lambda token: basic("__token__", token),  # pip, uv, poetry, pdm, netrc, keyring
        lambda token: basic(token),  # pip's https://TOKEN@host/
        lambda token: basic("", token),  # an empty username, as JFrog clients send it
        lambda token: f"Bearer {token}",
    ],
)
def test_a_read_only_token_reads_pages_and_files(
    private_index, index, read_token, file_url, authorization
):
    header = authorization(read_token)
    assert index.get(PAGE, authorization=header).status == 200
    answer = index.get(file_url, authorization=header)
    assert answer.status == 200
    assert answer.header("Cache-Control") == "private, max-age=31536000, immutable"


def test_an_upload_token_reads_too(private_index, index, upload_token, holy_grail):
    assert index.get(PAGE, authorization=basic("__token__", upload_token)).status == 200


@pytest.mark.parametrize("password", ["bastion-wrong", "", "a password", "pypi-AgEIcHlwaS5vcmc"])
def test_wrong_credentials_get_401(private_index, index, holy_grail, alice, password):
    answer = index.get(PAGE, authorization=basic("__token__", password))
    assert answer.status == 401
    assert answer.header("WWW-Authenticate") == 'Basic realm="Bastion"'


def test_a_username_and_password_are_not_token_credentials(private_index, index, holy_grail):
    assert index.get(PAGE, authorization=basic("alice", "a long password")).status == 401


def test_a_known_token_costs_no_query_on_later_reads(
    private_index, index, read_token, holy_grail, django_assert_num_queries
):
    header = basic("__token__", read_token)
    assert index.get(PAGE, authorization=header).status == 200
    with django_assert_num_queries(0):
        assert index.get(PAGE, authorization=header).status == 200


def test_revocation_takes_effect_once_the_verdict_expires(private_index, index, read_token):
    private_index.READ_TOKEN_CACHE_SECONDS = 0
    header = basic("__token__", read_token)
    assert index.get("/simple/", authorization=header).status == 200
    revoke(APIToken.objects.get())
    assert index.get("/simple/", authorization=header).status == 401


def test_a_revoked_token_reads_for_at_most_the_cache_lifetime(private_index, index, read_token):
    header = basic("__token__", read_token)
    assert index.get("/simple/", authorization=header).status == 200
    revoke(APIToken.objects.get())
    assert index.get("/simple/", authorization=header).status == 200  # documented: up to 5 s


@pytest.mark.parametrize("change", ["expired", "disabled"])
def test_expired_tokens_and_disabled_accounts_do_not_read(
    private_index, index, read_token, alice, change
):
    if change == "expired":
        APIToken.objects.update(expires=timezone.now())
    else:
        alice.is_active = False
        alice.save()
    assert index.get("/simple/", authorization=basic("__token__", read_token)).status == 401


def test_a_signed_in_browser_reads_pages(private_index, index, holy_grail, alice):
    browser = Client()
    browser.force_login(alice)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    assert index.get(PAGE, cookie=cookie).status == 200
    assert index.get(PAGE, cookie="sessionid=forged").status == 401


def test_repeated_failed_authentications_get_429_with_retry_after(private_index, index, read_token):
    private_index.RATELIMIT_TOKEN_FAILURES_PER_IP = ((3, 60),)
    wrong = basic("__token__", "bastion-guess")
    assert [index.get("/simple/", authorization=wrong).status for _ in range(3)] == [401] * 3
    answer = index.get("/simple/", authorization=wrong)
    assert answer.status == 429
    assert int(answer.header("Retry-After")) > 0
    assert b"Too many failed authentications" in answer.body
    # Guessing stops there: even a right token is not tried until the wait is over.
    assert index.get("/simple/", authorization=basic("__token__", read_token)).status == 429


def test_requests_without_credentials_do_not_count_as_failures(private_index, index):
    private_index.RATELIMIT_TOKEN_FAILURES_PER_IP = ((2, 60),)
    assert {index.get("/simple/").status for _ in range(5)} == {401}
