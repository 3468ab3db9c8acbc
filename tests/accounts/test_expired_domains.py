"""The ctx defence: addresses on lapsed domains lose their verification and get no resets."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from bastion import cli
from bastion.accounts.domains import (
    RdapResolver,
    parse_rdap_events,
    unverify_emails_on_expired_domains,
)
from bastion.accounts.models import Email
from bastion.accounts.services import create_user
from bastion.events.models import SecurityEvent

from .conftest import PASSWORD, link_in, mails_to

pytestmark = pytest.mark.django_db

LONG_AGO = "2001-03-04T05:06:07Z"


def rdap_domain(name: str, *, expires: datetime | str, registered: str = LONG_AGO) -> dict:
    """The parts of an RFC 9083 domain answer the check reads, plus some it must skip."""
    if isinstance(expires, datetime):
        expires = expires.isoformat()
    return {
        "objectClassName": "domain",
        "ldhName": name,
        "events": [
            {"eventAction": "registration", "eventDate": registered},
            {"eventAction": "expiration", "eventDate": expires},
            {"eventAction": "last update of RDAP database", "eventDate": "not a date"},
        ],
    }


@pytest.fixture
def rdap(http_fixture, settings):
    settings.RDAP_URL = http_fixture.url
    settings.RDAP_TIMEOUT = 2
    now = datetime.now(UTC)
    http_fixture.json(
        "/domain/lapsed.example", rdap_domain("lapsed.example", expires=now - timedelta(days=3))
    )
    http_fixture.json(
        "/domain/example.org", rdap_domain("example.org", expires=now + timedelta(days=300))
    )
    return http_fixture


@pytest.fixture
def victim(db):
    """Primary address on a healthy domain, a verified secondary on a domain that lapsed."""
    user = create_user(username="dev", email="dev@example.org", password=PASSWORD, verified=True)
    Email.objects.create(
        user=user,
        email="dev@lapsed.example",
        verified=True,
        verified_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    return user


def test_an_expired_domain_unverifies_its_address_and_a_reset_to_it_is_then_refused(
    rdap, victim, client, mailbox
):
    # Before the check, the lapsed address could receive a reset: the ctx takeover.
    client.post("/account/reset-password/", {"email": "dev@lapsed.example"})
    (stale_link,) = mails_to(mailbox, "dev@lapsed.example")
    mailbox.clear()

    changed = unverify_emails_on_expired_domains()

    assert [(c.address, c.reason) for c in changed] == [("dev@lapsed.example", "domain-expired")]
    assert sorted(rdap.seen) == ["/domain/example.org", "/domain/lapsed.example"]
    lapsed = Email.objects.get(email="dev@lapsed.example")
    assert not lapsed.verified and lapsed.unverified_reason == "domain-expired"
    assert Email.objects.get(email="dev@example.org").verified
    event = SecurityEvent.objects.get(user=victim, tag="account:email:unverified-expired-domain")
    assert event.additional == {
        "email": "dev@lapsed.example",
        "domain": "lapsed.example",
        "reason": "domain-expired",
    }
    (notice,) = mailbox
    assert notice.to == ["dev@example.org"] and "dev@lapsed.example" in notice.body

    # Now a reset to the lapsed address sends nothing, and the link sent before is dead.
    response = client.post("/account/reset-password/", {"email": "dev@lapsed.example"})
    assert response.status_code == 200 and mails_to(mailbox, "dev@lapsed.example") == []
    page = client.get(link_in(stale_link, "/account/reset-password/"))
    assert page.status_code == 200 and not page.context["validlink"]


def test_a_domain_registered_again_after_verification_unverifies_its_address(rdap, db, mailbox):
    user = create_user(username="old", email="old@example.org", verified=True)
    Email.objects.create(
        user=user,
        email="old@reborn.example",
        verified=True,
        verified_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    rdap.json(
        "/domain/reborn.example",
        rdap_domain(
            "reborn.example", expires="2030-01-01T00:00:00Z", registered="2024-06-01T00:00:00Z"
        ),
    )
    changed = unverify_emails_on_expired_domains()
    assert [(c.address, c.reason) for c in changed] == [
        ("old@reborn.example", "domain-reregistered")
    ]


def test_a_domain_the_service_cannot_answer_for_is_left_alone(rdap, db, mailbox):
    create_user(username="quiet", email="quiet@unknown.example", verified=True)
    assert unverify_emails_on_expired_domains() == []
    assert rdap.seen == ["/domain/unknown.example"]  # answered 404
    assert Email.objects.get(email="quiet@unknown.example").verified


def test_each_domain_is_looked_up_once_per_run(rdap, db, mailbox):
    for n in range(3):
        user = create_user(username=f"u{n}", email=f"u{n}@lapsed.example", verified=True)
        Email.objects.create(user=user, email=f"u{n}@example.org", verified=True)
    changed = unverify_emails_on_expired_domains()
    assert len(changed) == 3
    assert sorted(rdap.seen) == ["/domain/example.org", "/domain/lapsed.example"]
    assert all(len(mails_to(mailbox, f"u{n}@example.org")) == 1 for n in range(3))


def test_any_object_with_expiry_can_resolve(db, mailbox):
    create_user(username="x", email="x@gone.example", verified=True)

    class Fixed:
        def expiry(self, domain):
            return datetime(2000, 1, 1, tzinfo=UTC) if domain == "gone.example" else None

    assert [c.address for c in unverify_emails_on_expired_domains(Fixed())] == ["x@gone.example"]


def test_the_check_is_off_without_an_rdap_service(settings, victim, capsys):
    settings.RDAP_URL = None
    assert unverify_emails_on_expired_domains() == []
    assert cli.main(["accounts", "check-domains"]) == 1
    assert "BASTION_RDAP_URL" in capsys.readouterr().err


def test_the_cli_command_runs_the_check(rdap, victim, mailbox, capsys):
    assert cli.main(["accounts", "check-domains", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"address": "dev@lapsed.example", "username": "dev", "reason": "domain-expired"}
    ]


def test_rdap_dates_are_read_with_their_time_zone():
    events = parse_rdap_events(rdap_domain("a.example", expires="2027-05-01T12:00:00Z"))
    assert events["expiration"] == datetime(2027, 5, 1, 12, tzinfo=UTC)
    assert "last update of RDAP database" not in events
    assert parse_rdap_events({"events": "garbage"}) == {}


def test_the_resolver_reads_expiry_and_registration_from_one_request(http_fixture):
    http_fixture.json("/domain/a.example", rdap_domain("a.example", expires="2027-05-01T12:00:00Z"))
    resolver = RdapResolver(http_fixture.url + "/")
    assert resolver.expiry("a.example") == datetime(2027, 5, 1, 12, tzinfo=UTC)
    assert resolver.registered("a.example") == datetime(2001, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert http_fixture.seen == ["/domain/a.example"]


def test_an_address_on_a_subdomain_of_a_lapsed_domain_is_unverified(rdap, db, mailbox):
    """Red-team finding (the ctx takeover, again): a registry answers only for registered
    names, so mail.lapsed.example was "not found", left verified, and a reset mailed to it
    reached whoever registered lapsed.example again."""
    create_user(username="hank", email="hank@mail.lapsed.example", verified=True)
    create_user(username="ivy", email="ivy@deep.mail.lapsed.example", verified=True)

    changed = unverify_emails_on_expired_domains()

    assert {(c.username, c.reason) for c in changed} == {
        ("hank", "domain-expired"),
        ("ivy", "domain-expired"),
    }
    assert "/domain/lapsed.example" in rdap.seen
    assert rdap.seen.count("/domain/lapsed.example") == 1  # the parent's answer is kept
    assert not Email.objects.filter(email__endswith="lapsed.example", verified=True).exists()
