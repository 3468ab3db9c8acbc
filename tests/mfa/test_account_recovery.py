"""Account recovery end to end: request, admin queue, reset with a reason, freeze, mails."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bastion import authz
from bastion.accounts.models import Email
from bastion.authz import factors
from bastion.mfa import recovery, services
from bastion.mfa.models import RecoveryRequest, RecoveryStatus
from bastion.packaging.models import Project, Role, RoleName


def test_lost_device_recovery_from_request_to_freeze(
    client, admin_client, alice, enrol_totp, mailoutbox, settings, actor_for
):
    settings.RECOVERY_COOLING_OFF_HOURS = 72
    Email.objects.create(user=alice, email="alice@work.example", verified=True)
    project = Project.objects.create(name="demo", normalized_name="demo")
    Role.objects.create(user=alice, project=project, role_name=RoleName.OWNER)
    enrol_totp(alice)
    mailoutbox.clear()

    # 1. The person files a request from the sign-in page, without signing in.
    anonymous = client.__class__()
    assert reverse("mfa:recovery-request") in anonymous.get("/account/login/").content.decode()
    answer = anonymous.post(
        reverse("mfa:recovery-request"),
        {"identifier": "alice@work.example", "details": "Phone lost, codes in it."},
    )
    assert answer.status_code == 200 and b"Request received" in answer.content
    request = RecoveryRequest.objects.get()
    assert request.user == alice and request.status == RecoveryStatus.OPEN
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "alice@work.example"]
    mailoutbox.clear()

    # 2. It waits in the admin queue with its age.
    RecoveryRequest.objects.filter(pk=request.pk).update(created=timezone.now() - timedelta(days=2))
    queue = admin_client.get("/admin/mfa/recoveryrequest/").content.decode()
    assert "alice@work.example" in queue and "2\xa0days" in queue

    # 3. Resetting without a reason is refused; with one, the factors go.
    resolve = reverse("admin:mfa_recoveryrequest_resolve", args=[request.pk])
    assert admin_client.post(resolve, {"reset": "1", "reason": ""}).status_code == 200
    assert services.has_two_factor(alice)
    done = admin_client.post(resolve, {"reset": "1", "reason": "Signed commit from their repo"})
    assert done.status_code == 302
    request.refresh_from_db()
    assert request.status == RecoveryStatus.RESET
    assert request.resolution_reason == "Signed commit from their repo"
    assert not services.has_two_factor(alice)
    assert services.unused_recovery_codes(alice) == 0

    # 4. Every verified address hears of it at once, and publishing is frozen for 72 h.
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "alice@work.example"]
    assert "cannot publish" in mailoutbox[0].body
    decision = authz.may(actor_for(alice), authz.Action.UPLOAD, project)
    assert decision.code == authz.Code.RECOVERY_FREEZE
    expected_end = request.resolved_at + timedelta(hours=72)
    assert request.publishing_frozen_until == expected_end

    # 5. Every step left an event.
    tags = set(alice.security_events.values_list("tag", flat=True))
    assert {"account:recovery:requested", "account:recovery:factors_reset"} <= tags
    reset_event = alice.security_events.get(tag="account:recovery:factors_reset")
    assert reset_event.additional["admin"] == "root"
    assert reset_event.additional["reason"] == "Signed commit from their repo"

    # 6. After the cooling-off the account publishes again.
    later = expected_end + timedelta(seconds=1)
    assert recovery.publishing_frozen_until(alice, now=later) is None


def test_the_answer_does_not_reveal_whether_the_account_exists(client, alice):
    known = client.post(reverse("mfa:recovery-request"), {"identifier": "alice", "details": "lost"})
    unknown = client.post(
        reverse("mfa:recovery-request"), {"identifier": "nobody", "details": "lost"}
    )
    assert known.content == unknown.content
    assert RecoveryRequest.objects.filter(user__isnull=True).count() == 1


def test_only_staff_can_resolve_and_only_once(alice, make_user, origin):
    request = recovery.file_request(identifier="alice", details="lost", origin=origin)
    with pytest.raises(recovery.RecoveryError, match="Only an administrator"):
        factors.reset_factors(request, admin=make_user("bob"), reason="x", origin=origin)
    admin = make_user("root", admin=True)
    factors.decline(request, admin=admin, reason="could not verify", origin=origin)
    with pytest.raises(recovery.RecoveryError, match="already declined"):
        factors.reset_factors(request, admin=admin, reason="x", origin=origin)
