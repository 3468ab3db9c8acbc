"""Django's pages on a private index: people are sent to sign in, programs get 401, and the
ways in (sign-in, registration, reset, health, static files, uploads) stay open."""

import pytest

from bastion import authz
from bastion.tokens.services import create_token
from tests.private_reads import basic
from tests.simple import factory

pytestmark = pytest.mark.django_db

BROWSER_PAGES = ["/", "/project/spam/", "/project/spam/1.0/", "/user/alice/", "/stats/", "/?q=spam"]
API_PATHS = ["/pypi/spam/json", "/pypi/spam/1.0/json", "/stats/project/spam.json"]


@pytest.fixture
def spam(alice):
    project = factory.make_project("spam")
    factory.make_file(factory.make_release(project, "1.0"))
    factory.add_role(project, alice, "Owner")
    return project


@pytest.mark.parametrize("path", BROWSER_PAGES + API_PATHS)
def test_a_public_index_shows_everything_to_anyone(client, spam, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", BROWSER_PAGES)
def test_people_not_signed_in_are_sent_to_sign_in(private_index, client, spam, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/?next=")


@pytest.mark.parametrize("path", API_PATHS)
def test_programs_without_credentials_get_401_with_a_challenge(private_index, client, spam, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Bastion"'


@pytest.mark.parametrize("path", BROWSER_PAGES + API_PATHS)
def test_a_signed_in_person_reads_everything(private_index, client, spam, alice, path):
    client.force_login(alice)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", [*API_PATHS, "/project/spam/"])
def test_a_read_only_token_reads_the_json_api_and_pages(
    private_index, client, spam, read_token, path
):
    response = client.get(path, HTTP_AUTHORIZATION=basic("__token__", read_token))
    assert response.status_code == 200


def test_a_wrong_token_gets_401_not_a_sign_in_page(private_index, client, spam):
    response = client.get("/project/spam/", HTTP_AUTHORIZATION=basic("__token__", "bastion-x"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Bastion"'


@pytest.mark.parametrize(
    "path",
    [
        "/account/login/",
        "/account/register/",
        "/account/reset-password/",
        "/account/recovery/",
        "/healthz",
    ],
)
def test_the_ways_in_stay_open(private_index, client, path):
    assert client.get(path).status_code == 200


def test_uploads_keep_their_own_authentication(private_index, client):
    response = client.post("/legacy/", {":action": "file_upload"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Bastion uploads"'


def test_static_files_stay_open(private_index, client):
    assert client.get("/static/web/copy.js").status_code == 200


def test_repeated_wrong_tokens_get_429_with_retry_after(private_index, client, spam):
    private_index.RATELIMIT_TOKEN_FAILURES_PER_IP = ((2, 60),)
    wrong = basic("__token__", "bastion-guess")
    statuses = [client.get("/pypi/spam/json", HTTP_AUTHORIZATION=wrong).status_code for _ in "abc"]
    assert statuses == [401, 401, 429]
    response = client.get("/pypi/spam/json", HTTP_AUTHORIZATION=wrong)
    assert int(response["Retry-After"]) > 0
    assert "Too many failed authentications" in response.reason_phrase


def test_a_token_of_a_disabled_account_does_not_read(private_index, client, spam, make_user):
    bob = make_user("bob")
    secret = create_token(actor=authz.Actor(bob), name="ci", read_only=True).secret
    bob.is_active = False
    bob.save()
    response = client.get("/pypi/spam/json", HTTP_AUTHORIZATION=basic("__token__", secret))
    assert response.status_code == 401
