"""Unverifying addresses whose domain registration lapsed (the 2022 "ctx" takeover).

In May 2022 an attacker re-registered a maintainer's expired email domain, asked for a password
reset and took over the project. Here a scheduled task looks up the domain of every verified
address and unverifies the address when the domain's registration has expired, or when the
domain was registered again after the address was verified (it has changed hands since). A reset
is only ever mailed to verified addresses, so a lapsed domain is never a way in.

Lookups go through a resolver: any object with ``expiry(domain)``, and optionally
``registered(domain)``, each returning an aware datetime or None for "unknown". The default
:class:`RdapResolver` asks an RDAP service (``BASTION_RDAP_URL``, such as ``https://rdap.org``);
unset means the check is off.
Unknown never unverifies anything: a broken lookup must not lock out every user of a domain.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bastion.accounts.models import Email, UnverifyReason
from bastion.accounts.services import notify_account
from bastion.events import services as events
from bastion.events.services import CLI, Origin

logger = logging.getLogger(__name__)

EVENT_TAG = "account:email:unverified-expired-domain"


class DomainResolver(Protocol):
    """``registered(domain)`` is optional; when present, a re-registration also unverifies."""

    def expiry(self, domain: str) -> datetime | None: ...


class RdapResolver:
    """Reads ``expiration`` and ``registration`` events from ``GET <base>/domain/<name>``."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._events: dict[str, dict[str, datetime]] = {}

    def expiry(self, domain: str) -> datetime | None:
        return self._lookup(domain).get("expiration")

    def registered(self, domain: str) -> datetime | None:
        return self._lookup(domain).get("registration")

    def _lookup(self, domain: str) -> dict[str, datetime]:
        """The events of the registration that holds ``domain``.

        A registry's RDAP service answers only for names registered with it, so an address on a
        subdomain (``mail.example.com``) is "not found" there: its parent is asked in turn, up
        to a name of two labels. Otherwise the registration that lapsed (``example.com``) would
        never be seen for it, and a reset would go to whoever registered the domain again.
        """
        if domain not in self._events:
            found = self._fetch(domain)
            if found is None:  # not a registered name: the registration is a parent's
                parent = domain.partition(".")[2]
                found = self._lookup(parent) if "." in parent else {}
            self._events[domain] = found
        return self._events[domain]

    def _fetch(self, domain: str) -> dict[str, datetime] | None:
        """The name's dated events; None when the service says no such name is registered."""
        request = urllib.request.Request(  # noqa: S310 - the operator configures an http(s) URL
            f"{self.base_url}/domain/{quote(domain, safe='')}",
            headers={"Accept": "application/rdap+json", "User-Agent": "bastion-index"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                document = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            logger.warning(
                "RDAP lookup of %s failed (%s); leaving its addresses alone", domain, error
            )
            return {}
        except (OSError, ValueError) as error:
            logger.warning(
                "RDAP lookup of %s failed (%s); leaving its addresses alone", domain, error
            )
            return {}
        return parse_rdap_events(document)


def parse_rdap_events(document: dict) -> dict[str, datetime]:
    """The dated events of an RDAP domain answer, by eventAction; unparseable ones are skipped."""
    found = {}
    for event in document.get("events") or []:
        if not isinstance(event, dict):
            continue
        action, date = event.get("eventAction"), event.get("eventDate")
        try:
            when = datetime.fromisoformat(str(date).replace("Z", "+00:00"))
        except ValueError:
            continue
        if action and when.tzinfo is not None:
            found[str(action)] = when
    return found


def default_resolver() -> DomainResolver | None:
    """The configured RDAP resolver, or None when ``BASTION_RDAP_URL`` is unset (check off)."""
    if not settings.RDAP_URL:
        return None
    return RdapResolver(settings.RDAP_URL, timeout=settings.RDAP_TIMEOUT)


@dataclass(frozen=True)
class Unverified:
    address: str
    username: str
    reason: str


def lapse_reason(
    email: Email, expires: datetime | None, registered: datetime | None, now: datetime
) -> str | None:
    """Why ``email`` should lose its verification, given its domain's dates, or None to keep it."""
    if expires is not None and expires <= now:
        return UnverifyReason.DOMAIN_EXPIRED
    proven = email.verified_at or email.created
    if registered is not None and registered > proven:
        return UnverifyReason.DOMAIN_REREGISTERED
    return None


def unverify_emails_on_expired_domains(
    resolver: DomainResolver | None = None, *, now: datetime | None = None, origin: Origin = CLI
) -> list[Unverified]:
    """Check every domain of a verified address once; unverify the addresses that lapsed.

    Each unverified address records a security event and the account's other verified addresses
    are told. This is the function the worker schedules; ``bastion accounts check-domains`` runs
    it by hand.
    """
    resolver = resolver or default_resolver()
    if resolver is None:
        return []
    now = now or timezone.now()
    by_domain: dict[str, list[Email]] = defaultdict(list)
    for email in Email.objects.filter(verified=True).select_related("user"):
        by_domain[email.domain].append(email)
    registered_on = getattr(resolver, "registered", None)
    changed = []
    for domain, emails in sorted(by_domain.items()):
        expires = resolver.expiry(domain)
        registered = registered_on(domain) if registered_on else None
        for email in emails:
            reason = lapse_reason(email, expires, registered, now)
            if reason is not None:
                _unverify(email, reason, origin)
                changed.append(Unverified(email.email, email.user.username, reason))
    return changed


def _unverify(email: Email, reason: str, origin: Origin) -> None:
    with transaction.atomic():
        email.verified = False
        email.unverified_reason = reason
        email.save(update_fields=["verified", "unverified_reason"])
        events.record(
            EVENT_TAG,
            user=email.user,
            origin=origin,
            email=email.email,
            domain=email.domain,
            reason=reason,
        )
    notify_account(
        email.user,
        "email-unverified-domain",
        {
            "address": email.email,
            "domain": email.domain,
            "reason": email.get_unverified_reason_display(),
        },
    )
