"""Every answer of the read path carries the security headers, though it skips the middleware."""

import pytest

from bastion.wsgi import application
from tests.simple.wsgi_client import WSGIClient

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def product(holy_grail):
    """The WSGI application `bastion serve` runs: the read path in front of Django."""
    return WSGIClient(application)


@pytest.mark.parametrize(
    ("url", "accept", "status"),
    [
        ("/simple/", None, 200),
        ("/simple/holy-grail/", None, 200),
        ("/simple/holy-grail/", JSON, 200),
        ("/simple/Holy_Grail/", None, 301),
        ("/simple/no-such-project/", None, 404),
        ("/simple/holy-grail/", "image/png", 406),
    ],
)
def test_simple_answers_forbid_sniffing_and_framing(product, url, accept, status):
    answer = product.get(url, accept=accept) if accept else product.get(url)
    assert answer.status == status
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.header("X-Frame-Options") == "DENY"
    assert "default-src 'none'" in answer.header("Content-Security-Policy")


def test_a_revalidated_page_keeps_the_headers(product):
    etag = product.get("/simple/holy-grail/").header("ETag")
    answer = product.get("/simple/holy-grail/", if_none_match=etag)
    assert answer.status == 304
    assert answer.header("X-Content-Type-Options") == "nosniff"


def test_file_downloads_and_their_refusals_forbid_sniffing(product, holy_grail):
    stored = holy_grail.releases.get(version="1.0").files.first()
    for url, status in [(f"/files/{stored.path}", 200), ("/files/ab/cd/nothing.whl", 404)]:
        answer = product.get(url)
        assert answer.status == status
        assert answer.header("X-Content-Type-Options") == "nosniff"  # once, not twice


def test_the_json_api_forbids_sniffing(client, holy_grail):
    response = client.get("/pypi/holy-grail/json")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
