"""The client address: the peer, or what a trusted proxy says the client was; never the client's
own claim. Security events and rate limits see that one address."""

import ipaddress

import pytest
from django.test import RequestFactory

from bastion.client_address import client_address, resolve
from bastion.events.models import SecurityEvent
from bastion.events.services import Origin

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:ffff::1"))


def request_from(peer: str, forwarded_for: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=peer, **extra)


def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXIES = ()
    assert client_address(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_address(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_a_trusted_proxy_gives_the_right_most_address_that_is_not_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = PROXIES
    # The client claimed 192.0.2.66 itself; the outer proxy (10.1.1.1) saw 198.51.100.1.
    request = request_from("10.0.0.5", "192.0.2.66, 198.51.100.1, 10.1.1.1")
    assert client_address(request) == "198.51.100.1"


def test_a_trusted_proxy_without_the_header_is_the_client(settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert client_address(request_from("10.0.0.5")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("10.2.2.2, 10.3.3.3", "10.2.2.2"),  # every hop trusted: the farthest one
        ("198.51.100.1, garbage", "10.0.0.5"),  # unreadable: stop at the proxy that sent it
        ("garbage, 198.51.100.1", "198.51.100.1"),
        ("[2001:db8::7]:4431", "2001:db8::7"),
        ("198.51.100.1:4431", "198.51.100.1"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        ("2001:db8::7, 2001:db8:ffff::1", "2001:db8::7"),
    ],
)
def test_forwarded_for_entries(forwarded_for, expected):
    assert resolve("10.0.0.5", forwarded_for, PROXIES) == expected


@pytest.mark.django_db
def test_security_events_carry_the_address_a_trusted_proxy_forwarded(settings, client, alice):
    settings.TRUSTED_PROXIES = PROXIES
    client.post(
        "/account/login/",
        {"username": alice.username, "password": "wrong password"},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="192.0.2.66, 198.51.100.1",
    )
    event = SecurityEvent.objects.get(user=alice, tag="account:login:failure")
    assert event.ip_address == "198.51.100.1"


def test_the_origin_of_a_request_uses_the_same_address(settings):
    settings.TRUSTED_PROXIES = PROXIES
    request = request_from("10.0.0.5", "198.51.100.1")
    assert Origin.from_request(request).ip_address == client_address(request) == "198.51.100.1"
