"""Client addresses and rate limits through a live ``bastion serve`` with two workers.

uWSGI's ``--http11-socket`` handed ``REMOTE_ADDR=0.0.0.0`` to every request after the first on
a kept-alive connection, and each worker counted rate limits in its own memory: one client could
fill the shared 0.0.0.0 bucket and lock everyone out. The server here trusts 127.0.0.1 as a proxy,
so ``X-Forwarded-For`` stands in for clients at different addresses.
"""

import pytest
import requests

from tests.e2e.conftest import _start_server, _stop
from tests.upload import dists

LOGIN = "/account/login/"


@pytest.fixture(scope="module")
def proxied_index(tmp_path_factory):
    index = _start_server(
        tmp_path_factory.mktemp("proxied"),
        {
            "BASTION_TRUSTED_PROXIES": "127.0.0.1",
            "BASTION_RATELIMIT_TOKEN_FAILURES_PER_IP": "2/minute",
        },
    )
    yield index
    _stop(index.process)


def failed_login(session: requests.Session, url: str, username: str, client: str | None = None):
    """A wrong password, posted as a browser would (the form first, for its CSRF token)."""
    headers = {"X-Forwarded-For": client} if client else {}
    session.get(url + LOGIN, headers=headers, timeout=30).raise_for_status()
    form = {
        "username": username,
        "password": "not the password",
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
    }
    return session.post(url + LOGIN, data=form, headers=headers, timeout=30)


def test_every_request_on_a_kept_alive_connection_carries_the_peer_address(proxied_index):
    proxied_index.bastion("users", "create", "kim", "--email", "kim@example.com", "--verified")
    with requests.Session() as session:  # one connection, kept alive for all six requests
        for _ in range(3):
            assert failed_login(session, proxied_index.url, "kim").status_code == 200

    addresses = proxied_index.python(
        "from bastion.events.models import SecurityEvent\n"
        "events = SecurityEvent.objects.filter(tag='account:login:failure', user__username='kim')\n"
        "print(' '.join(events.values_list('ip_address', flat=True)))"
    ).split()
    assert addresses == ["127.0.0.1"] * 3  # was 127.0.0.1 0.0.0.0 0.0.0.0


def test_one_address_locked_out_leaves_others_alone_and_every_process_sees_it(proxied_index):
    locked, other = "198.51.100.1", "198.51.100.2"
    for attempt in range(10):  # LOGIN_PER_IP: 10 per 5 minutes, one account name each
        with requests.Session() as session:  # new connections, so both workers take turns
            response = failed_login(session, proxied_index.url, f"nobody{attempt}", locked)
            assert response.status_code == 200

    with requests.Session() as session:
        refused = failed_login(session, proxied_index.url, "nobody-else", locked)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    with requests.Session() as session:
        assert failed_login(session, proxied_index.url, "nobody-else", other).status_code == 200

    # A third process on the same data directory (not a worker) sees the same counts.
    seen = proxied_index.python(
        "from bastion.accounts.ratelimit import LOGIN_PER_IP\n"
        "print(LOGIN_PER_IP.retry_after(sys.argv[1]) is not None,"
        " LOGIN_PER_IP.retry_after(sys.argv[2]) is None)",
        locked,
        other,
    )
    assert seen.split() == ["True", "True"]


def test_twine_shows_why_failed_token_authentication_is_refused(proxied_index, tmp_path):
    wheel = dists.wheel("rate-limited", "1.0")
    path = tmp_path / wheel.filename
    path.write_bytes(wheel.content)
    for _ in range(2):  # this server allows 2 failures a minute per address
        wrong = proxied_index.twine_upload("bastion-wrong-token", path)
        assert "403" in wrong.output, wrong.output

    refused = proxied_index.twine_upload("bastion-wrong-token", path)
    assert refused.returncode != 0
    assert "429" in refused.output, refused.output
    assert "Too many failed authentications from your address. Try again in" in refused.output
