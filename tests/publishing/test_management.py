"""Adding and removing publishers: through the gate, mailed to the owners, from web and CLI."""

import json

import pytest
from django.core import mail
from django.test import Client

from bastion import authz, cli
from bastion.events.models import SecurityEvent
from bastion.mfa import reauth
from bastion.packaging.services import PackagingError
from bastion.publishing import services
from bastion.publishing.models import Publisher
from tests.publishing.conftest import publish_from_octo_widget

pytestmark = pytest.mark.django_db

GITHUB = {"kind": "github", "repository": "octo/widget", "workflow": "release.yml"}


@pytest.fixture
def widget(make_project, alice):
    return make_project("widget", owners=[alice])


def _signed_in(user) -> Client:
    """A client signed in as ``user`` who confirmed their password a moment ago."""
    client = Client()
    client.force_login(user)
    session = client.session
    reauth.mark_recent_auth(type("R", (), {"session": session})(), "password")
    session.save()
    return client


def test_owner_without_2fa_of_enforced_critical_project_cannot_add_a_publisher(
    widget,
    alice,
    designate,
):
    designate("widget", enforced=True)

    with pytest.raises(authz.Refused) as refused:
        services.add_publisher(actor=authz.Actor(alice), project=widget, **GITHUB)

    assert refused.value.code == authz.Code.TWO_FACTOR_REQUIRED
    assert not Publisher.objects.exists()


def test_the_settings_page_refuses_that_owner_too(widget, alice, designate):
    designate("widget", enforced=True)

    response = _signed_in(alice).post(
        "/manage/project/widget/publishing/", {**GITHUB, "environment": ""}
    )

    assert response.status_code == 403
    assert not Publisher.objects.exists()


def test_owner_with_2fa_adds_a_publisher_on_the_page_and_the_owners_hear_of_it(
    widget,
    alice,
    make_user,
    designate,
    enrol_totp,
    mail_queue,
):
    designate("widget", enforced=True)
    enrol_totp(alice)
    bob = make_user("bob")
    widget.roles.create(user=bob, role_name="Owner")
    client = _signed_in(alice)

    with mail_queue.committed():
        response = client.post(
            "/manage/project/widget/publishing/", {**GITHUB, "environment": "PyPI"}
        )

    assert response.status_code == 302, response.content
    publisher = Publisher.objects.get()
    assert (publisher.project, publisher.added_by, publisher.environment) == (widget, alice, "pypi")
    sent = mail_queue.deliver()
    assert {address for message in sent for address in message.to} == {
        "alice@example.com",
        "bob@example.com",
    }
    assert any("octo/widget" in message.body for message in sent)
    page = client.get("/manage/project/widget/publishing/")
    assert b"octo/widget" in page.content and b"release.yml" in page.content
    assert b'<td data-label="CI service">GitHub Actions</td>' in page.content
    assert publisher.added_with_second_factor and b"without two-factor" not in page.content

    mail.outbox = []
    with mail_queue.committed():
        response = client.post(f"/manage/project/widget/publishing/{publisher.pk}/remove/")
    assert response.status_code == 302
    assert not Publisher.objects.exists()
    assert "removed" in mail_queue.deliver()[0].subject
    assert SecurityEvent.objects.filter(tag="publisher:remove", project=widget).exists()


def test_maintainer_cannot_add_a_publisher(widget, make_user):
    mallory = make_user("mallory")
    widget.roles.create(user=mallory, role_name="Maintainer")

    with pytest.raises(authz.Refused) as refused:
        services.add_publisher(actor=authz.Actor(mallory), project=widget, **GITHUB)

    assert refused.value.code == authz.Code.ROLE_REQUIRED


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({"repository": "octo"}, "not a GitHub repository"),
        ({"workflow": ".github/workflows/release.yml"}, "not a workflow file name"),
        ({"workflow": "release.sh"}, "not a workflow file name"),
        ({"environment": "a;b"}, "environment"),
        ({"kind": "gitlab", "repository": "widget"}, "not a GitLab project"),
        ({"kind": "gitlab", "workflow": "/ci.yml"}, "not a CI config file path"),
        ({"kind": "circleci"}, "not a kind"),
    ],
)
def test_invalid_publisher_fields_are_refused_with_a_reason(widget, fields, wrong):
    with pytest.raises(PackagingError) as refused:
        services.add_publisher(actor=authz.Actor.operator(), project=widget, **{**GITHUB, **fields})

    assert wrong in refused.value.message


def test_the_same_publisher_twice_is_refused(widget):
    services.add_publisher(actor=authz.Actor.operator(), project=widget, **GITHUB)

    with pytest.raises(PackagingError, match="already has"):
        services.add_publisher(actor=authz.Actor.operator(), project=widget, **GITHUB)


def test_pending_publisher_follows_the_name_rules(alice):
    with pytest.raises(PackagingError, match="Standard Library"):
        services.add_pending_publisher(actor=authz.Actor(alice), name="asyncio", **GITHUB)


def test_pending_publisher_for_a_critical_name_needs_what_creating_it_needs(
    alice,
    designate,
    enrol_totp,
):
    designate("reserved-name", enforced=True)

    with pytest.raises(authz.Refused) as refused:
        services.add_pending_publisher(actor=authz.Actor(alice), name="reserved-name", **GITHUB)

    assert refused.value.code == authz.Code.TWO_FACTOR_REQUIRED


def test_an_account_holds_at_most_three_pending_publishers(alice):
    for n in range(3):
        services.add_pending_publisher(
            actor=authz.Actor(alice), name=f"new-{n}", **{**GITHUB, "workflow": f"w{n}.yml"}
        )

    with pytest.raises(PackagingError, match="at most 3"):
        services.add_pending_publisher(actor=authz.Actor(alice), name="new-4", **GITHUB)


def test_pending_publisher_page(alice):
    client = _signed_in(alice)

    response = client.post(
        "/manage/account/publishing/",
        {"project_name": "brand-new", **GITHUB, "environment": ""},
    )

    assert response.status_code == 302, response.content
    assert Publisher.objects.get().pending_name == "brand-new"
    assert b"brand-new" in client.get("/manage/account/publishing/").content


def test_a_pending_publisher_the_gate_refuses_is_a_403_beside_the_form(alice, designate):
    """Gate review finding: the refusal was answered 400, as if the input were malformed."""
    designate("ghostcrit")  # a critical name not hosted here: creating it needs 2FA
    client = _signed_in(alice)

    response = client.post(
        "/manage/account/publishing/", {"project_name": "ghostcrit", **GITHUB, "environment": ""}
    )

    assert response.status_code == 403
    assert b"two-factor" in response.content and b'value="ghostcrit"' in response.content
    assert not Publisher.objects.exists()


# -- the command line ---------------------------------------------------------------------------


def test_cli_adds_lists_and_removes_publishers(widget, capsys, mail_queue):
    with mail_queue.committed():
        code = cli.main(["publishers", "add", "widget", "--github", "octo/widget", "--workflow",
                         "release.yml", "--environment", "pypi"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert mail_queue.deliver()
    code = cli.main(["publishers", "add", "widget", "--gitlab", "group/sub/widget",
                     "--workflow", "ci/release.yml"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()

    assert cli.main(["publishers", "list", "widget", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["kind"], p["repository"], p["workflow"], p["environment"]) for p in listed] == [
        ("github", "octo/widget", "release.yml", "pypi"),
        ("gitlab", "group/sub/widget", "ci/release.yml", None),
    ]

    assert cli.main(["publishers", "remove", "widget", str(listed[0]["id"])]) == 0
    assert Publisher.objects.get().kind == "gitlab"


def test_removing_a_publisher_at_the_cli_mails_every_owner_and_no_maintainer(
    widget, make_user, capsys, mail_queue
):
    widget.roles.create(user=make_user("bob"), role_name="Owner")
    widget.roles.create(user=make_user("carol"), role_name="Maintainer")
    publisher = services.add_publisher(actor=authz.Actor.operator(), project=widget, **GITHUB)
    mail_queue.backend.clear()  # the mail of the addition

    with mail_queue.committed():
        code = cli.main(["publishers", "remove", "widget", str(publisher.pk)])

    assert code == 0, capsys.readouterr().err
    sent = mail_queue.deliver()
    assert sorted(address for message in sent for address in message.to) == [
        "alice@example.com",
        "bob@example.com",
    ]
    for message in sent:
        assert "removed" in message.subject
        assert "an operator at the command line removed the trusted publisher" in message.body
        assert "octo/widget" in message.body


def test_cli_pending_publisher_needs_an_owner_to_be(alice, capsys):
    args = ["publishers", "add", "brand-new", "--github", "octo/new", "--workflow", "r.yml"]

    assert cli.main(args) == 1
    assert "--user" in capsys.readouterr().err
    assert cli.main([*args, "--user", "alice"]) == 0
    assert Publisher.objects.get().pending_name == "brand-new"


def test_cli_as_a_user_goes_through_the_gate(widget, make_user, capsys):
    make_user("mallory")
    args = ["publishers", "add", "widget", "--github", "octo/widget", "--workflow", "r.yml"]

    assert cli.main([*args, "--user", "mallory"]) == 1
    assert "isn't allowed" in capsys.readouterr().err
    assert not Publisher.objects.exists()


def test_cli_refuses_a_bad_repository_with_a_reason(widget, capsys):
    args = ["publishers", "add", "widget", "--github", "octo", "--workflow", "r.yml"]

    assert cli.main(args) == 1
    assert "OWNER/REPO" in capsys.readouterr().err


def test_cli_add_needs_github_or_gitlab(widget, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["publishers", "add", "widget", "--workflow", "r.yml"])

    assert exited.value.code == 2
    assert "--github --gitlab" in capsys.readouterr().err


def test_the_page_says_which_publishers_were_added_without_a_second_factor(widget, alice):
    publish_from_octo_widget(widget, actor=authz.Actor(alice))

    page = _signed_in(alice).get("/manage/project/widget/publishing/").content.decode()

    assert "without two-factor authentication: a critical project refuses its uploads" in page
