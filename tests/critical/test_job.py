"""The designation job against the database: its inputs, what it stores, and who hears about it."""

from datetime import date, timedelta

import pytest
from django.core import mail

from bastion.authz import designations
from bastion.critical import services
from bastion.critical.models import Designation, DesignationNotice
from bastion.critical.policy import Policy
from bastion.events.models import SecurityEvent
from tests.factories import add_release

TODAY = date(2026, 11, 25)
POLICY = Policy(top_percent=10.0, grace_days=30)


def downloads_of(counts):
    """A download source that also checks it was asked for the right window."""
    asked = []

    def source(since, until):
        asked.append((since, until))
        return dict(counts)

    source.asked = asked
    return source


#: 20 ranked names: "top" is first; 10% is 2 names, so "top" and "second" are critical by rank.
COUNTS = {"top": 10_000, "second": 9_000, **{f"tail-{i:02d}": 100 + i for i in range(18)}}


@pytest.fixture
def world(make_project, alice, make_user):
    """top 1.10 needs lib-a (and lib-x only with an extra); 1.9 needed lib-old; 2.0 is yanked."""
    bob = make_user("bob")
    top = make_project(
        "top",
        owners=[alice],
        maintainers=[bob],
        releases={
            "1.9": {"requires": ["lib-old"]},
            "1.10": {"requires": ["lib-a"], "extras": ["lib-x"]},
            "2.0": {"requires": ["lib-yanked"], "yanked": True},
        },
    )
    make_project("lib-a", owners=[bob], releases={"1.0": {"requires": ["lib-b"]}})
    make_project("lib-b", owners=[alice], releases={"1.0": {"requires": ["lib-a"]}})  # a cycle
    return {"top": top, "bob": bob}


def test_graph_uses_the_latest_non_yanked_release_without_extras(world):
    graph = services.dependency_graph()
    assert graph == {"top": {"lib-a"}, "lib-a": {"lib-b"}, "lib-b": {"lib-a"}}


def test_dependencies_are_read_for_the_names_asked_only(world):
    assert services.dependencies_of(["top", "lib-b", "not-hosted"]) == {
        "top": {"lib-a"},
        "lib-b": {"lib-a"},
    }


def test_the_window_is_whole_days_ending_yesterday():
    assert services.window(Policy(window_days=183), TODAY) == (
        date(2026, 5, 26),
        date(2026, 11, 24),
    )


def test_job_designates_ranked_names_and_their_closure_with_reasons(world):
    source = downloads_of(COUNTS)
    result = services.designate(policy=POLICY, on=TODAY, downloads=source)
    assert source.asked == [(date(2026, 5, 26), date(2026, 11, 24))]
    stored = {d.normalized_name: d for d in Designation.objects.all()}
    assert set(stored) == {"top", "second", "lib-a", "lib-b"}
    assert stored["lib-b"].reason == {"kind": "dependency", "path": ["top", "lib-a", "lib-b"]}
    assert stored["second"].kind == "downloads"  # critical although not hosted here
    assert all(d.enforcement_date == TODAY + timedelta(days=30) for d in stored.values())
    as_json = result.as_dict()
    assert as_json["cutoff_rank"] == 2 and as_json["ranked_names"] == 20
    assert [a["name"] for a in as_json["added"]] == ["lib-a", "lib-b", "second", "top"]
    tags = SecurityEvent.objects.filter(tag="project:critical:designate")
    assert sorted(e.project.normalized_name for e in tags) == ["lib-a", "lib-b", "top"]


def test_dry_run_stores_and_sends_nothing(world):
    result = services.designate(
        policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS), dry_run=True
    )
    assert len(result.outcome.added) == 4
    assert not Designation.objects.exists() and not mail.outbox


def test_notices_go_out_once_per_project_and_person_across_reruns(world):
    first = services.designate(policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS))
    # top: alice and bob; lib-a: bob; lib-b: alice.  "second" is not hosted: nobody to tell.
    assert first.notified == 4 and len(mail.outbox) == 4
    second = services.designate(policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS))
    assert second.notified == 0 and len(mail.outbox) == 4
    assert DesignationNotice.objects.count() == 4
    message = next(m for m in mail.outbox if "top" in m.subject and m.to == ["bob@example.com"])
    assert "2026-12-25" in message.subject
    assert "rank 1 of 20" in message.body
    assert "/manage/account/two-factor/" in message.body
    assert "/manage/account/security-key/" in message.body


def test_designations_are_sticky_across_runs(world):
    services.designate(policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS))
    fallen = {**COUNTS, "top": 1, "tail-17": 50_000}
    later = TODAY + timedelta(days=1)
    result = services.designate(policy=POLICY, on=later, downloads=downloads_of(fallen))
    assert list(result.outcome.added) == ["tail-17"]
    top = Designation.objects.get(normalized_name="top")
    assert top.reason["rank"] == 1 and top.enforcement_date == TODAY + timedelta(days=30)
    assert "top" in result.as_dict()["kept_without_qualifying"]
    new = Designation.objects.get(normalized_name="tail-17")
    assert new.enforcement_date == later + timedelta(days=30)  # each designation has its own


def test_manual_designation_needs_an_admin_and_a_note_and_follows_dependencies(world, make_user):
    root = make_user("root", admin=True)
    with pytest.raises(services.CriticalError, match="not an admin"):
        designations.designate_manually(admin=world["bob"], name="lib-a", note="ours")
    with pytest.raises(services.CriticalError, match="Say why"):
        designations.designate_manually(admin=root, name="lib-a", note=" ")
    designation = designations.designate_manually(admin=root, name="Lib_A", note="we run on it")
    assert designation.normalized_name == "lib-a" and designation.designated_by == root
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    result = services.designate(policy=POLICY, on=TODAY, downloads=downloads_of({}))
    assert result.outcome.added["lib-b"].path == ("lib-a", "lib-b")


def test_only_an_admin_removes_a_designation_and_the_job_leaves_it_removed(world, make_user):
    root = make_user("root", admin=True)
    services.designate(policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS))
    with pytest.raises(services.CriticalError, match="not an admin"):
        designations.remove(admin=world["bob"], name="second", reason="mistake")
    with pytest.raises(services.CriticalError, match="Say why"):
        designations.remove(admin=root, name="second", reason="")
    removed = designations.remove(admin=root, name="second", reason="a mirror inflated it")
    assert removed.removal_reason == "a mirror inflated it" and removed.removed_by == root
    rerun = services.designate(policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS))
    assert "second" not in rerun.outcome.critical
    assert not Designation.objects.get(normalized_name="second").is_active
    restored = designations.designate_manually(admin=root, name="second", note="it is, after all")
    assert restored.is_active and restored.removal_reason == ""


def test_grace_reminders_go_once_a_day_to_maintainers_without_2fa(world, enrol_totp, alice):
    services.designate(policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS))
    enrol_totp(alice)
    mail.outbox.clear()
    assert services.send_grace_reminders(TODAY) == 1  # bob; alice has 2FA
    assert services.send_grace_reminders(TODAY) == 0
    assert services.send_grace_reminders(TODAY + timedelta(days=1)) == 1
    assert "lib-a" in mail.outbox[0].body and "top" in mail.outbox[0].body
    assert services.send_grace_reminders(TODAY + timedelta(days=30)) == 0  # enforced now


def test_yanking_everything_does_not_shed_the_label(world):
    services.designate(policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS))
    world["top"].releases.update(yanked=True)
    result = services.designate(policy=POLICY, on=TODAY, downloads=downloads_of({}))
    assert {"top", "lib-a", "lib-b"} <= set(result.outcome.critical)


def test_a_project_created_later_under_a_critical_name_gets_the_notice(make_project, make_user):
    services.designate(policy=POLICY, on=TODAY, downloads=downloads_of(COUNTS))
    dave = make_user("dave")
    project = make_project("second", owners=[dave])
    add_release(project, "1.0")
    assert services.notify_maintainers() == 1
    assert mail.outbox[-1].to == ["dave@example.com"]
