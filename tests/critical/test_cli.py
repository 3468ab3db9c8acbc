"""``bastion critical …`` and ``bastion stats`` over the real download rollups."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bastion.cli import main
from bastion.critical.models import Designation, StatsSnapshot
from tests.downloads.conftest import seed_rollup
from tests.factories import add_file, add_release, attest

pytestmark = pytest.mark.django_db


@pytest.fixture
def rollups(db, settings, tmp_path):
    """Yesterday's rollup: 'mirrored' has the most downloads, but all from a mirror."""
    settings.DATA_DIR = tmp_path / "data"
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    rows = [("popular", "installer", 500), ("mirrored", "mirror", 10_000)]
    rows += [(f"tail-{i:03d}", "installer", 1 + i) for i in range(150)]
    rows += [("tail-000", "browser", 10_000)]
    seed_rollup(tmp_path, [(name, yesterday, kind, count) for name, kind, count in rows])


def run(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_dry_run_prints_the_diff_and_changes_nothing(rollups, capsys):
    code, out, _ = run(capsys, "critical", "designate", "--dry-run")
    assert code == 0
    assert "151 names ranked; the cut-off is rank 2" in out  # ceil(1% of 151)
    assert "+ popular: rank 1 of 151" in out and "+ tail-149: rank 2 of 151" in out
    assert "mirrored" not in out  # mirror downloads are not ranked
    assert not Designation.objects.exists()


def test_designate_json_then_list_and_explain(rollups, capsys):
    code, out, _ = run(capsys, "critical", "designate", "--json")
    result = json.loads(out)
    assert code == 0 and result["dry_run"] is False
    assert [a["name"] for a in result["added"]] == ["popular", "tail-149"]
    assert StatsSnapshot.objects.count() == 1  # the daily routine also takes the snapshot
    _, out, _ = run(capsys, "critical", "list", "--json")
    assert json.loads(out) == ["popular", "tail-149"]
    _, out, _ = run(capsys, "critical", "explain", "Popular")
    assert "popular is critical since" in out and "rank 1 of 151" in out
    assert "not hosted here" in out
    _, out, _ = run(capsys, "critical", "explain", "popular", "--json")
    explained = json.loads(out)
    assert explained["critical"] is True and explained["reason"]["downloads"] == 500
    _, out, _ = run(capsys, "critical", "explain", "tail-001")
    assert out.strip() == "tail-001 is not critical."


def test_add_and_remove_by_an_admin_with_reasons(make_user, capsys):
    make_user("root", admin=True)
    make_user("bob")
    code, _, err = run(capsys, "critical", "add", "pip", "--admin", "bob", "--note", "x")
    assert code == 1 and "not an admin" in err
    code, out, _ = run(capsys, "critical", "add", "pip", "--admin", "root", "--note", "ours")
    assert code == 0 and "pip is critical" in out
    code, out, _ = run(capsys, "critical", "remove", "pip", "--admin", "root", "--reason", "oops")
    assert code == 0
    _, out, _ = run(capsys, "critical", "explain", "pip")
    assert "no longer critical: root removed the designation" in out and "oops" in out


def test_stats_json_counts_critical_and_other_accounts(
    make_user, make_project, designate, enrol_totp, capsys
):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    make_project("requests", owners=[alice], maintainers=[bob])
    designate("requests")
    designate("numpy")  # not hosted: counted as a project, has no accounts
    enrol_totp(alice)
    enrol_totp(carol)
    code, out, _ = run(capsys, "stats", "--json")
    numbers = json.loads(out)
    assert code == 0
    assert numbers["critical_projects"] == 2 and numbers["critical_projects_hosted"] == 1
    assert numbers["critical_accounts"] == 2 and numbers["critical_accounts_2fa_share"] == 0.5
    assert numbers["critical_accounts_by_method"]["totp"] == {"accounts": 1, "share": 0.5}
    assert numbers["other_accounts"] == 1 and numbers["other_accounts_2fa_share"] == 1.0


def test_stats_give_the_share_of_files_with_attestations_overall_and_when_critical(
    make_user, make_project, designate, capsys
):
    alice = make_user("alice")
    critical = add_release(make_project("requests", owners=[alice]), "1.0")
    other = add_release(make_project("widget", owners=[alice]), "1.0")
    attest(add_file(critical, "requests-1.0.tar.gz"))
    add_file(critical, "requests-1.0-py3-none-any.whl")
    add_file(other, "widget-1.0.tar.gz")
    attest(add_file(other, "widget-1.0-py3-none-any.whl"))
    designate("requests")

    _, out, _ = run(capsys, "stats", "--json")
    _, text, _ = run(capsys, "stats")

    assert json.loads(out)["attestations"] == {
        "all": {"files": 4, "attested": 2, "share": 0.5},
        "critical": {"files": 2, "attested": 1, "share": 0.5},
    }
    assert "Files with attestations, all projects: 2 of 4 (50.0%)" in text
    assert "Files with attestations, critical projects: 1 of 2 (50.0%)" in text


def test_designate_without_any_downloads_says_so(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path / "data"
    code, out, _ = run(capsys, "critical", "designate", "--dry-run")
    assert code == 0
    assert "no installer downloads, so no name is critical by rank." in out
    assert "0 names would be critical, 0 of them new." in out
