"""Trading a CI job's OIDC token for an upload token: what is accepted, and each refusal's code."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from bastion import authz
from bastion.events.models import SecurityEvent
from bastion.packaging.models import Project, Role, RoleName
from bastion.publishing import issuers, services
from bastion.publishing.models import Exchange, Publisher, SeenToken
from bastion.tokens.models import APIToken
from tests.publishing.conftest import (
    GITLAB,
    SigningKey,
    github_claims,
    gitlab_claims,
    publish_from_octo_widget,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def widget(make_project, alice):
    return make_project("widget", owners=[alice])


@pytest.fixture
def github_publisher(widget):
    return services.add_publisher(
        actor=authz.Actor.operator(),
        project=widget,
        kind="github",
        repository="octo/widget",
        workflow="release.yml",
    )


@pytest.fixture
def gitlab_publisher(widget):
    return services.add_publisher(
        actor=authz.Actor.operator(),
        project=widget,
        kind="gitlab",
        repository="group/widget",
        workflow=".gitlab-ci.yml",
        environment="Release",
    )


def test_audience_is_the_base_urls_host_name_by_default(settings):
    response = Client().get("/_/oidc/audience")

    assert response.status_code == 200
    assert response.json() == {"audience": "localhost"}


def test_audience_can_be_configured(settings):
    settings.OIDC_AUDIENCE = "bastion.example"

    assert Client().get("/_/oidc/audience").json() == {"audience": "bastion.example"}


def test_github_token_mints_a_fifteen_minute_token_for_that_one_project(
    exchange, github_publisher, widget, alice
):
    response = exchange.mint(github_claims())

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True
    assert body["token"].startswith("bastion-")
    assert abs(body["expires"] - (time.time() + 900)) < 60
    token = APIToken.objects.get(publisher=github_publisher)
    assert (token.project, token.user) == (widget, alice)
    assert token.expires - timezone.now() <= timedelta(minutes=15)
    claims = Exchange.objects.get(token=token).claims
    assert claims["repository"] == "octo/widget"
    assert claims["workflow"] == "release.yml"
    assert claims["ref"] == "refs/tags/v1.0"
    assert claims["run_id"] == "987654"
    assert SecurityEvent.objects.filter(tag="publisher:token", project=widget).exists()


def test_gitlab_token_mints_a_token(exchange, gitlab_publisher, widget):
    response = exchange.mint(gitlab_claims(environment="Release"))

    assert response.status_code == 200, response.content
    assert APIToken.objects.get(publisher=gitlab_publisher).project == widget


def test_github_repository_and_environment_match_in_any_case(exchange, widget):
    services.add_publisher(
        actor=authz.Actor.operator(),
        project=widget,
        kind="github",
        repository="Octo/Widget",
        workflow="release.yml",
        environment="PyPI",
    )

    response = exchange.mint(github_claims("octo/widget", environment="pypi"))

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        (github_claims("octo/other"), "invalid-repository"),
        (github_claims(workflow="ci.yml"), "invalid-workflow"),
        (github_claims(lifetime=-120), "expired-token"),
        (github_claims(nbf=int(time.time()) + 600), "immature-token"),
        (github_claims(audience="pypi"), "invalid-audience"),
        (github_claims(iss="https://token.actions.example"), "unknown-issuer"),
        (github_claims(event_name="pull_request_target"), "invalid-event"),
        (github_claims(repository_owner=""), "missing-claim"),
        (
            # a reusable workflow from another ref than the run's own
            github_claims(job_workflow_ref="octo/widget/.github/workflows/release.yml@refs/x"),
            "invalid-publisher",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_github_token_refused_with_its_own_code(exchange, github_publisher, claims, code):
    assert exchange.refused_with(claims) == code
    assert not APIToken.objects.exists()


def test_other_environment_is_refused(exchange, widget):
    services.add_publisher(
        actor=authz.Actor.operator(),
        project=widget,
        kind="github",
        repository="octo/widget",
        workflow="release.yml",
        environment="pypi",
    )

    assert exchange.refused_with(github_claims(environment="staging")) == "invalid-environment"
    assert exchange.refused_with(github_claims()) == "invalid-environment"


def test_gitlab_environment_is_case_sensitive(exchange, gitlab_publisher):
    assert exchange.refused_with(gitlab_claims(environment="release")) == "invalid-environment"


def test_gitlab_token_for_other_project_or_pipeline_file_is_refused(exchange, gitlab_publisher):
    assert exchange.refused_with(gitlab_claims("group/other")) == "invalid-repository"
    assert exchange.refused_with(gitlab_claims(config="ci/release.yml")) == "invalid-workflow"


def test_replayed_token_is_refused(exchange, github_publisher):
    token = exchange.ci.key.sign(github_claims())

    assert exchange.post(token).status_code == 200
    response = exchange.post(token)

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "invalid-reuse-token"
    assert APIToken.objects.count() == 1


def test_seen_token_is_kept_until_it_could_no_longer_verify(exchange, github_publisher):
    claims = github_claims()

    exchange.mint(claims)

    seen = SeenToken.objects.get(jti=claims["jti"])
    assert seen.expires.timestamp() >= claims["exp"] + services.LEEWAY.total_seconds()


def test_token_signed_by_an_unknown_key_is_refused(exchange, github_publisher):
    stranger = SigningKey("key-of-someone-else")

    assert exchange.refused_with(github_claims(), key=stranger) == "unknown-key"


def test_token_signed_by_another_key_under_a_known_id_is_refused(exchange, github_publisher):
    forger = SigningKey("key-1")  # the issuer's key id, someone else's key

    assert exchange.refused_with(github_claims(), key=forger) == "invalid-token"


def test_malformed_body_is_refused():
    response = Client().post("/_/oidc/mint-token", "not json", content_type="application/json")

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "invalid-payload"


def test_rotated_key_is_fetched_once_and_unknown_key_ids_are_bounded(
    exchange, github_publisher, monkeypatch
):
    monkeypatch.setattr(issuers, "REFRESH_SECONDS", 3600)
    assert exchange.mint(github_claims()).status_code == 200
    assert exchange.ci.fetches == 1

    for n in range(5):  # a flood of made-up key ids costs the issuer nothing
        stranger = SigningKey(f"made-up-{n}")
        assert exchange.refused_with(github_claims(), key=stranger) == "unknown-key"
    assert exchange.ci.fetches == 1

    monkeypatch.setattr(issuers, "REFRESH_SECONDS", 0)
    rotated = SigningKey("key-2")
    exchange.ci.keys.append(rotated)
    assert exchange.mint(github_claims(), key=rotated).status_code == 200
    assert exchange.ci.fetches == 2


def test_owner_id_is_pinned_at_the_first_trade(exchange, github_publisher):
    assert exchange.mint(github_claims()).status_code == 200
    github_publisher.refresh_from_db()
    assert github_publisher.owner_id == "4242"

    # The account "octo" was deleted and its name registered by someone else.
    resurrected = github_claims(repository_owner_id="9999")
    assert exchange.refused_with(resurrected) == "invalid-owner-id"


def test_environment_pinned_publisher_wins_over_one_for_any_environment(exchange, widget):
    anywhere = services.add_publisher(
        actor=authz.Actor.operator(),
        project=widget,
        kind="github",
        repository="octo/widget",
        workflow="release.yml",
    )
    pinned = services.add_publisher(
        actor=authz.Actor.operator(),
        project=widget,
        kind="github",
        repository="octo/widget",
        workflow="release.yml",
        environment="pypi",
    )

    exchange.mint(github_claims(environment="pypi"))
    exchange.mint(github_claims(environment="docs"))

    assert APIToken.objects.filter(publisher=pinned).count() == 1
    assert APIToken.objects.filter(publisher=anywhere).count() == 1


def test_gitlab_publisher_does_not_match_a_github_token(exchange, widget):
    services.add_publisher(
        actor=authz.Actor.operator(),
        project=widget,
        kind="gitlab",
        repository="octo/widget",
        workflow="a.yml",
    )

    assert exchange.refused_with(github_claims()) == "invalid-repository"


def test_token_whose_project_has_no_active_owner_is_refused(exchange, github_publisher, alice):
    alice.is_active = False
    alice.save()

    assert exchange.refused_with(github_claims()) == "invalid-publisher"


# -- pending publishers ---------------------------------------------------------------------------


@pytest.fixture
def pending(alice):
    from bastion import authz

    return services.add_pending_publisher(
        actor=authz.Actor(alice),
        name="Brand.New",
        kind="gitlab",
        repository="group/brand-new",
        workflow=".gitlab-ci.yml",
    )


def test_pending_publisher_creates_its_project_owned_by_its_registrant(exchange, pending, alice):
    response = exchange.mint(gitlab_claims("group/brand-new"))

    assert response.status_code == 200, response.content
    project = Project.objects.get(normalized_name="brand-new")
    assert project.name == "Brand.New"
    assert Role.objects.get(project=project).user == alice
    assert Role.objects.get(project=project).role_name == RoleName.OWNER
    pending.refresh_from_db()
    assert (pending.project, pending.pending_name) == (project, "")
    assert APIToken.objects.get(publisher=pending).project == project
    event = SecurityEvent.objects.get(tag="publisher:add", project=project)
    assert event.additional["reified_from_pending"] is True


def test_pending_publisher_s_first_trade_mails_the_owner_of_the_project_it_created(
    exchange, pending, mail_queue
):
    with mail_queue.committed():
        response = exchange.mint(gitlab_claims("group/brand-new"))

    assert response.status_code == 200, response.content
    (message,) = mail_queue.deliver()
    assert message.to == ["alice@example.com"]
    assert "group/brand-new" in message.subject
    assert "created Brand.New when its CI job first asked for an upload token" in message.body


def test_pending_publisher_for_a_name_taken_meanwhile_is_removed(
    exchange,
    pending,
    make_project,
    make_user,
):
    make_project("brand-new", owners=[make_user("mallory")])

    assert exchange.refused_with(gitlab_claims("group/brand-new")) == "invalid-pending-publisher"
    assert not Publisher.objects.filter(pk=pending.pk).exists()


def test_pending_publisher_is_refused_when_its_registrant_may_no_longer_create_it(
    exchange, pending, alice
):
    from bastion.accounts.models import Email

    Email.objects.filter(user=alice).update(verified=False)

    assert exchange.refused_with(gitlab_claims("group/brand-new")) == "project-refused"
    assert not Project.objects.filter(normalized_name="brand-new").exists()


def test_custom_gitlab_issuer_only_matches_its_own_publishers(exchange, widget, settings):
    settings.OIDC_ISSUERS = {
        **settings.OIDC_ISSUERS,
        "https://git.example.org": {"kind": "gitlab"},
    }
    services.add_publisher(
        actor=authz.Actor.operator(),
        project=widget,
        kind="gitlab",
        repository="group/widget",
        workflow=".gitlab-ci.yml",
        issuer="https://git.example.org",
    )

    assert exchange.refused_with(gitlab_claims()) == "invalid-repository"
    assert GITLAB not in {p.issuer for p in Publisher.objects.all()}
    claims = gitlab_claims(
        iss="https://git.example.org",
        ci_config_ref_uri="git.example.org/group/widget//.gitlab-ci.yml@refs/tags/v1.0",
    )
    assert exchange.mint(claims).status_code == 200


def test_expired_publisher_tokens_and_seen_ids_are_forgotten(exchange, github_publisher):
    assert exchange.mint(github_claims()).status_code == 200
    token = APIToken.objects.get()
    APIToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(days=2))
    SeenToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    services.forget_expired()

    assert not APIToken.objects.exists()
    assert not Exchange.objects.exists()
    assert not SeenToken.objects.exists()
    assert SecurityEvent.objects.filter(tag="publisher:token").exists()


def test_the_legacy_github_path_old_publish_actions_call_trades_too(exchange, github_publisher):
    token = exchange.ci.key.sign(github_claims())

    response = exchange.client.post(
        "/_/oidc/github/mint-token", {"token": token}, content_type="application/json"
    )

    assert response.status_code == 200, response.content


def test_another_accounts_pending_publisher_is_not_created_while_a_projects_publisher_accepts(
    exchange, github_publisher, make_user
):
    """Mallory registers a pending publisher for alice's workflow, pinned to the environment the
    job runs in: the job's token is still widget's, and no project is made for mallory."""
    mallory = make_user("mallory")
    services.add_pending_publisher(
        actor=authz.Actor(mallory),
        name="squat",
        kind="github",
        repository="octo/widget",
        workflow="release.yml",
        environment="pypi",
    )

    response = exchange.mint(github_claims(environment="pypi"))

    assert response.status_code == 200, response.content
    assert APIToken.objects.get(publisher__isnull=False).publisher == github_publisher
    assert not Project.objects.filter(normalized_name="squat").exists()
    assert Publisher.objects.get(pending_name="squat").is_pending


def test_every_project_publisher_the_claims_fit_is_recorded_with_the_trade(
    exchange, github_publisher, make_project, make_user
):
    mallory = make_user("mallory")
    squat = make_project("squat", owners=[mallory])
    pinned = publish_from_octo_widget(squat, actor=authz.Actor(mallory), environment="pypi")

    assert exchange.mint(github_claims(environment="pypi")).status_code == 200
    assert exchange.mint(github_claims(environment="docs")).status_code == 200

    pypi, docs = Exchange.objects.order_by("pk")
    assert (pypi.publisher, list(pypi.other_publishers.all())) == (pinned, [github_publisher])
    assert (docs.publisher, list(docs.other_publishers.all())) == (github_publisher, [])
    github_publisher.refresh_from_db()
    assert github_publisher.owner_id == "4242"  # pinned at its first trade, shared or not


def test_pending_publishers_of_two_accounts_for_one_job_create_nothing(exchange, alice, make_user):
    """Review finding: mallory's pending publisher pinned to the job's environment outranked
    alice's, so alice's job created mallory's project, and alice's never."""
    mallory = make_user("mallory")
    for actor, name, environment in ((alice, "widget", ""), (mallory, "squat", "pypi")):
        services.add_pending_publisher(
            actor=authz.Actor(actor),
            name=name,
            kind="github",
            repository="octo/widget",
            workflow="release.yml",
            environment=environment,
        )

    assert exchange.refused_with(github_claims(environment="pypi")) == "invalid-pending-publisher"
    assert not Project.objects.filter(normalized_name__in=["widget", "squat"]).exists()
