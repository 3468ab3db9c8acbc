"""Project settings (the stored 2FA wish) and the security history pages."""

import pytest
from django.urls import reverse

from bastion import authz
from bastion.events import services as events
from bastion.events.models import SecurityEvent
from bastion.events.services import Origin

pytestmark = pytest.mark.django_db

SETTINGS = reverse("project_settings", args=["widget"])


@pytest.fixture
def owner_with_two_factor(world, enrol_totp):
    enrol_totp(world.owner)


def test_require_two_factor_is_stored_shown_and_recorded(
    world, owner_client, owner_with_two_factor
):
    assert b'name="requires_two_factor"' in owner_client.get(SETTINGS).content
    assert b"Require 2FA for every maintainer" in owner_client.get(SETTINGS).content
    assert owner_client.post(SETTINGS, {"requires_two_factor": "on"}).status_code == 302
    world.project.refresh_from_db()
    assert world.project.requires_two_factor
    assert b"checked" in owner_client.get(SETTINGS).content
    owner_client.post(SETTINGS, {})
    world.project.refresh_from_db()
    assert not world.project.requires_two_factor
    tags = list(SecurityEvent.objects.order_by("pk").values_list("tag", flat=True))
    assert tags[-2:] == ["require_2fa:enabled", "require_2fa:disabled"]


def test_turning_it_on_is_refused_when_the_gate_would_then_lock_the_owner_out(
    world, owner_client, monkeypatch
):
    def needs_flag_off(actor, action, project):
        if project is not None and project.requires_two_factor:
            return authz.Decision(False, "Project 'Widget' requires two-factor authentication.")
        return authz.ALLOW

    monkeypatch.setattr(authz, "RULES", [*authz.RULES, needs_flag_off])
    response = owner_client.post(SETTINGS, {"requires_two_factor": "on"})
    assert response.status_code == 400
    page = response.content.decode()
    assert page.index("You would lock yourself out.") > page.index('id="id_requires_two_factor"')
    world.project.refresh_from_db()
    assert not world.project.requires_two_factor


def test_saving_unchanged_settings_records_nothing(world, owner_client):
    before = SecurityEvent.objects.count()
    owner_client.post(SETTINGS, {})
    assert SecurityEvent.objects.count() == before


def test_account_history_shows_time_event_ip_and_user_agent(world, owner_client):
    origin = Origin(ip_address="198.51.100.4", user_agent="twine/6.1.0 CPython/3.11")
    events.record("token:use", user=world.owner, origin=origin, token="ci")
    events.record("token:use", user=world.stranger, origin=Origin("192.0.2.99", "other-agent"))
    page = owner_client.get(reverse("account_history")).content.decode()
    assert "API token used" in page
    assert "198.51.100.4" in page and "twine/6.1.0 CPython/3.11" in page
    assert "<time datetime=" in page
    assert "192.0.2.99" not in page and "other-agent" not in page


def test_project_history_lists_the_projects_events_with_who_did_them(world, owner_client):
    owner_client.post(
        reverse("yank_release", kwargs={"name": "widget", "version": "1.0"}), {"reason": "bad"}
    )
    events.record("release:yank", user=world.stranger, origin=Origin("192.0.2.99", "x"))
    page = owner_client.get(reverse("project_history", args=["widget"])).content.decode()
    assert "Release yanked" in page and "olivia" in page and "203.0.113.7" in page
    assert "192.0.2.99" not in page


def test_an_owner_without_2fa_reads_the_history_of_their_critical_project(
    world, owner_client, designate
):
    """Reading changes nothing: the mandate that refuses the settings page does not hide the log."""
    designate("widget")  # enforced: the owner, without 2FA, may no longer change anything
    assert owner_client.get(SETTINGS).status_code == 403
    assert owner_client.get(reverse("project_history", args=["widget"])).status_code == 200
    maintainer = world.client_for(world.maintainer)  # owners read it, as on PyPI
    assert maintainer.get(reverse("project_history", args=["widget"])).status_code == 403


def test_history_escapes_what_clients_sent(world, owner_client):
    evil = Origin(ip_address="192.0.2.1", user_agent="<script>alert(1)</script>")
    events.record("token:use", user=world.owner, origin=evil, token="<b>x</b>")
    page = owner_client.get(reverse("account_history")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_history_is_paginated(world, owner_client):
    for number in range(60):
        events.record("token:use", user=world.owner, token=f"t{number}")
    first = owner_client.get(reverse("account_history")).content.decode()
    assert "Page 1 of 2" in first and " t59</li>" in first and " t0</li>" not in first
    second = owner_client.get(reverse("account_history") + "?page=2").content.decode()
    assert " t0</li>" in second and " t59</li>" not in second
