"""A NUL character in a path or a header never reaches a view (issue 11, finding 6).

PostgreSQL cannot hold a NUL in text: a name taken from the path and looked up failed with a
500 there, while SQLite simply found nothing. These run in CI's PostgreSQL leg too.
"""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    "path",
    [
        "/project/grail%00/",
        "/project/grail/1.0%00/",
        "/pypi/grail%00/json",
        "/pypi/grail/1.0%00/json",
        "/user/alice%00/",
        "/manage/project/grail%00/",
        "/stats/project/grail%00.json",
    ],
)
def test_nul_in_a_path_is_not_found(client, make_project, alice, path):
    make_project("grail", owners=[alice])

    assert client.get(path).status_code == 404


def test_nul_in_a_header_is_refused(client):
    response = client.get("/", HTTP_USER_AGENT="pip/25.0\x00")

    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_nul_refusals_carry_the_security_headers(client):
    assert "Content-Security-Policy" in client.get("/project/grail%00/")
