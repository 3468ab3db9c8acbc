"""Uploads carrying PEP 740 attestations: verified against the publisher, stored, or refused
with nothing written. The files and attestations are real (tests/publishing/assets/README.md)."""

import pytest
from django.test import Client
from pypi_attestations import Distribution
from pypi_attestations import Provenance as PEP740Provenance

from bastion import authz
from bastion.events.models import SecurityEvent
from bastion.publishing import services
from bastion.publishing.attestations import INTEGRITY_MEDIA_TYPE
from bastion.publishing.models import Provenance
from bastion.simple.readpath import ReadPath
from bastion.tokens.services import create_token
from bastion.wsgi import django_application
from tests.publishing.conftest import github_claims, gitlab_claims
from tests.publishing.test_attestations import ASSETS, GH_DIST, GL_DIST, field
from tests.simple.test_pages import JSON
from tests.simple.wsgi_client import WSGIClient
from tests.upload import dists
from tests.upload.conftest import Uploader, index_state

pytestmark = pytest.mark.django_db

BOTH = (f"{GH_DIST}.publish.attestation", f"{GH_DIST}.slsa.attestation")


def real_sdist(content: bytes | None = None) -> dists.Dist:
    """The release of pypi-attestations 0.0.19 that its GitHub Actions workflow attested."""
    return dists.Dist(
        filename=GH_DIST,
        content=content or (ASSETS / GH_DIST).read_bytes(),
        filetype="sdist",
        pyversion="source",
        fields={"metadata_version": "2.1", "name": "pypi-attestations", "version": "0.0.19"},
    )


def refused(response, message: str) -> None:
    """A 400 whose reason phrase (what twine shows) says ``message``, and nothing written."""
    assert response.status_code == 400, response.reason_phrase
    assert message in response.reason_phrase
    assert index_state() == response.state_before
    assert not Provenance.objects.exists()


@pytest.fixture
def project(make_project, alice):
    return make_project("pypi-attestations", owners=[alice])


def publisher_uploader(exchange, project, alice, repository: str) -> Uploader:
    """A token traded by a run of ``repository``'s release.yml, for its publisher of ``project``."""
    services.add_publisher(
        actor=authz.Actor.operator(),
        project=project,
        kind="github",
        repository=repository,
        workflow="release.yml",
    )
    response = exchange.mint(github_claims(repository, "release.yml"))
    assert response.status_code == 200, response.content
    return Uploader(Client(), alice, response.json()["token"])


def test_attestations_from_the_publishers_workflow_are_stored_with_the_file(
    exchange, project, alice
):
    uploader = publisher_uploader(exchange, project, alice, "trailofbits/pypi-attestations")

    response = uploader.upload(real_sdist().form(attestations=field(*BOTH)))

    assert response.status_code == 200, response.reason_phrase
    provenance = Provenance.objects.get()
    assert provenance.file.filename == GH_DIST
    assert len(provenance.attestations) == 2
    assert provenance.publisher_object["repository"] == "trailofbits/pypi-attestations"
    assert provenance.source_url == "https://github.com/trailofbits/pypi-attestations"
    assert provenance.claims["run_url"] == (
        "https://github.com/trailofbits/pypi-attestations/actions/runs/987654"
    )
    assert SecurityEvent.objects.get(tag="file:upload").additional["attestations"] == 2


def test_attestations_through_a_publisher_for_another_repository_store_nothing(
    exchange, project, alice
):
    uploader = publisher_uploader(exchange, project, alice, "octo/pypi-attestations")

    response = uploader.upload(real_sdist().form(attestations=field(*BOTH)))

    refused(response, "not this upload's trusted publisher")


def test_a_file_changed_by_one_byte_is_refused(exchange, project, alice):
    changed = bytearray((ASSETS / GH_DIST).read_bytes())
    changed[100] ^= 1
    uploader = publisher_uploader(exchange, project, alice, "trailofbits/pypi-attestations")

    response = uploader.upload(real_sdist(bytes(changed)).form(attestations=field(*BOTH)))

    refused(response, "subject does not match distribution digest")


def test_attestations_with_a_persons_token_are_refused(project, alice):
    minted = create_token(actor=authz.Actor(alice), name="mine", project=project)
    uploader = Uploader(Client(), alice, minted.secret)

    response = uploader.upload(real_sdist().form(attestations=field(*BOTH)))

    refused(response, "Attestations are only accepted from trusted publishers")


def test_an_attestations_field_that_is_not_json_is_refused(exchange, project, alice):
    uploader = publisher_uploader(exchange, project, alice, "trailofbits/pypi-attestations")

    response = uploader.upload(real_sdist().form(attestations="[{"))

    refused(response, "must be a JSON array of PEP 740 attestation objects")


def provenance_path(filename: str = GH_DIST) -> str:
    return f"/integrity/pypi-attestations/0.0.19/{filename}/provenance"


def test_the_page_links_the_provenance_which_verifies_as_served(
    exchange, project, alice, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.PAGES_DIR = tmp_path / "pages"  # a tree of this test's own
    uploader = publisher_uploader(exchange, project, alice, "trailofbits/pypi-attestations")
    with django_capture_on_commit_callbacks(execute=True):  # the pages are marked stale after it
        uploader.upload(real_sdist().form(attestations=field(*BOTH)))

    page = WSGIClient(ReadPath(django_application)).get("/simple/pypi-attestations/", accept=JSON)
    (entry,) = page.json()["files"]
    served = Client().get(provenance_path(), HTTP_ACCEPT=INTEGRITY_MEDIA_TYPE)

    assert entry["provenance"] == settings.BASE_URL + provenance_path()
    assert served.status_code == 200
    assert served["Content-Type"] == INTEGRITY_MEDIA_TYPE
    (bundle,) = PEP740Provenance.model_validate_json(served.content).attestation_bundles
    assert bundle.publisher.repository == "trailofbits/pypi-attestations"
    distribution = Distribution.from_file(ASSETS / GH_DIST)
    for attestation in bundle.attestations:
        attestation.verify(bundle.publisher, distribution, offline=True)


@pytest.mark.parametrize(
    ("accept", "status", "content_type"),
    [
        (None, 200, INTEGRITY_MEDIA_TYPE),
        ("application/json", 200, "application/json"),
        ("text/html", 406, "application/json"),
    ],
)
def test_the_provenance_is_served_as_the_accept_header_asks(
    exchange, project, alice, accept, status, content_type
):
    uploader = publisher_uploader(exchange, project, alice, "trailofbits/pypi-attestations")
    uploader.upload(real_sdist().form(attestations=field(*BOTH)))

    served = Client().get(provenance_path(), **({"HTTP_ACCEPT": accept} if accept else {}))

    assert served.status_code == status
    assert served["Content-Type"] == content_type
    assert served["Access-Control-Allow-Origin"] == "*"


def test_a_file_without_attestations_has_no_provenance(exchange, project, alice):
    uploader = publisher_uploader(exchange, project, alice, "trailofbits/pypi-attestations")
    uploader.upload(real_sdist().form())

    served = Client().get(provenance_path())

    assert served.status_code == 404
    assert served.json() == {"message": f"No provenance available for {GH_DIST}"}


def test_a_gitlab_ci_attestation_uploads_through_its_gitlab_publisher(
    exchange, make_project, alice
):
    """The release of gitlab-oidc-project 0.0.3 its GitLab pipeline attested."""
    project = make_project("gitlab-oidc-project", owners=[alice])
    services.add_publisher(
        actor=authz.Actor.operator(),
        project=project,
        kind="gitlab",
        repository="facutuesca/gitlab-oidc-project",
        workflow=".gitlab-ci.yml",
    )
    minted = exchange.mint(gitlab_claims("facutuesca/gitlab-oidc-project", ".gitlab-ci.yml"))
    uploader = Uploader(Client(), alice, minted.json()["token"])
    sdist = dists.Dist(
        filename=GL_DIST,
        content=(ASSETS / GL_DIST).read_bytes(),
        filetype="sdist",
        pyversion="source",
        fields={"metadata_version": "2.1", "name": "gitlab-oidc-project", "version": "0.0.3"},
    )

    response = uploader.upload(sdist.form(attestations=field(f"{GL_DIST}.publish.attestation")))

    assert response.status_code == 200, response.reason_phrase
    assert Provenance.objects.get().publisher_object["kind"] == "GitLab"
    assert Provenance.objects.get().source_url == (
        "https://gitlab.com/facutuesca/gitlab-oidc-project"
    )
