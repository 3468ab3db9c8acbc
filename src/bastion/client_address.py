"""The address of the client behind a request: computed once, used by everything that needs one.

Security events, rate limits and anything else that asks "who is this?" call
:func:`client_address` (``Origin.from_request`` does), so they all see the same address.

Two things hide the real address:

- **uWSGI's keep-alive.** ``--http11-socket`` (uWSGI 2.0.x, the pyuwsgi wheel) hands
  ``REMOTE_ADDR=0.0.0.0`` to every request after the first on a kept-alive connection: its
  keep-alive accept reuses the connection without reading the peer address again, and the
  request's address field has been cleared in between. uWSGI has no option that fixes it (the
  change on its master branch calls ``getsockname``, which is the server's own address). So under
  uWSGI the peer is read from the connection itself with ``getpeername(2)``, about 10 µs.
- **A reverse proxy.** Behind a TLS proxy the peer is the proxy. ``X-Forwarded-For`` is believed
  only from a peer in ``BASTION_TRUSTED_PROXIES``, and then only up to the right-most address that
  is not itself a trusted proxy: everything left of that was written by the client and could be
  anything. From any other peer the header is ignored.

The read path (``/simple/``, ``/files/``) records no address; on a private index it calls
:func:`client_address_from_environ` only to count a failed authentication.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from django.conf import settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The WSGI environ is the request's META: the answer is kept there, so it is computed once.
_ENVIRON_KEY = "bastion.client_address"
_MISSING = object()


def client_address(request) -> str | None:
    """The client's address for this Django request (None when the server knows none)."""
    return client_address_from_environ(request.META)


def client_address_from_environ(environ: dict) -> str | None:
    """The same, from a WSGI environ; remembered in it, so each request computes it once."""
    known = environ.get(_ENVIRON_KEY, _MISSING)
    if known is _MISSING:
        known = resolve(
            peer_address(environ),
            environ.get("HTTP_X_FORWARDED_FOR"),
            settings.TRUSTED_PROXIES,
        )
        environ[_ENVIRON_KEY] = known
    return known


def peer_address(environ: dict) -> str | None:
    """The address at the other end of the connection: under uWSGI read from the socket."""
    peer = _uwsgi_connection_peer()
    return peer if peer is not None else (environ.get("REMOTE_ADDR") or None)


def _uwsgi_connection_peer() -> str | None:
    """``getpeername`` on this request's connection; None for a Unix socket, outside uWSGI or
    on any error."""
    try:
        # Imported here: the master process imports this module before uWSGI exists, and its
        # workers are forked from it.
        import uwsgi
    except ImportError:
        return None
    try:
        connection = socket.socket(fileno=uwsgi.connection_fd())
    except (OSError, SystemError, ValueError):
        return None
    try:
        if connection.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        return _normalized(connection.getpeername()[0])
    except OSError:
        return None
    finally:
        connection.detach()  # the fd belongs to uWSGI: never close it here


def resolve(
    peer: str | None, forwarded_for: str | None, trusted: Iterable[IPNetwork]
) -> str | None:
    """The client address, given the peer, its ``X-Forwarded-For`` and the trusted proxies.

    Walks the header from the right (each proxy appends the address it received from) while the
    address in hand is a trusted proxy. An unparseable entry stops the walk at the last address
    a trusted proxy vouched for.
    """
    trusted = tuple(trusted)
    if peer is None or not trusted or not forwarded_for:
        return peer
    current = _address(peer)
    if current is None or not _is_trusted(current, trusted):
        return peer
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not _is_trusted(current, trusted):
            break
    return str(current)


def _is_trusted(address: IPAddress, trusted: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in trusted)


def _address(text: str) -> IPAddress | None:
    """An address from a header entry or a peer, IPv4-mapped IPv6 as plain IPv4; else None."""
    text = text.strip()
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _normalized(text: str) -> str:
    address = _address(text)
    return str(address) if address is not None else text
