"""Verifying PEP 740 attestations made by real CI runs (tests/publishing/assets/README.md).

No network: the library's offline mode and the trust root the installed sigstore ships.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from pypi_attestations import Attestation, Distribution, Provenance

from bastion.publishing import attestations
from bastion.publishing.attestations import AttestationRefused
from bastion.publishing.models import Publisher
from tests.publishing.conftest import GITHUB, GITLAB

ASSETS = Path(__file__).parent / "assets"
GH_DIST = "pypi_attestations-0.0.19.tar.gz"
GL_DIST = "gitlab_oidc_project-0.0.3.tar.gz"
GH_CLAIMS = {"repository": "trailofbits/pypi-attestations", "workflow": "release.yml"}
GL_CLAIMS = {"repository": "facutuesca/gitlab-oidc-project", "workflow": ".gitlab-ci.yml"}


def sha256_of(name: str) -> str:
    return hashlib.sha256((ASSETS / name).read_bytes()).hexdigest()


def field(*names: str) -> str:
    """The ``attestations`` form field as twine sends it: a JSON array of the files' objects."""
    return json.dumps([json.loads((ASSETS / name).read_text()) for name in names])


def github(repository: str = "trailofbits/pypi-attestations", workflow: str = "release.yml"):
    return Publisher(kind="github", issuer=GITHUB, repository=repository, workflow=workflow)


def gitlab(repository: str = "facutuesca/gitlab-oidc-project", issuer: str = GITLAB):
    return Publisher(kind="gitlab", issuer=issuer, repository=repository, workflow=".gitlab-ci.yml")


def verify_github(value: str, publisher=None, *, claims=None, filename=GH_DIST, sha256=None):
    return attestations.verify(
        value,
        publisher=publisher or github(),
        claims=GH_CLAIMS if claims is None else claims,
        filename=filename,
        sha256=sha256 or sha256_of(GH_DIST),
    )


def refusal(call) -> str:
    with pytest.raises(AttestationRefused) as refused:
        call()
    return refused.value.message


def test_github_actions_publish_and_slsa_attestations_verify_for_their_publisher():
    verified = verify_github(field(f"{GH_DIST}.publish.attestation", f"{GH_DIST}.slsa.attestation"))

    assert len(verified.attestations) == 2
    assert verified.publisher_object == {
        "kind": "GitHub",
        "repository": "trailofbits/pypi-attestations",
        "workflow": "release.yml",
        "environment": None,
        "claims": None,
    }


def test_gitlab_ci_attestation_verifies_for_its_publisher():
    verified = attestations.verify(
        field(f"{GL_DIST}.publish.attestation"),
        publisher=gitlab(),
        claims=GL_CLAIMS,
        filename=GL_DIST,
        sha256=sha256_of(GL_DIST),
    )

    assert verified.publisher_object["kind"] == "GitLab"
    assert verified.publisher_object["workflow_filepath"] == ".gitlab-ci.yml"


def test_the_repository_is_taken_in_the_case_the_ci_spells_it():
    """A publisher typed as Trailofbits/PyPI-Attestations matched the token case-insensitively;
    the certificate holds GitHub's canonical case, which the token's claims carry too."""
    verified = verify_github(
        field(f"{GH_DIST}.publish.attestation"), github("Trailofbits/PyPI-Attestations")
    )

    assert verified.publisher_object["repository"] == "trailofbits/pypi-attestations"


def test_an_attestation_through_a_publisher_for_another_repository_is_refused():
    publisher = github("trailofbits/other")
    message = refusal(
        lambda: verify_github(
            field(f"{GH_DIST}.publish.attestation"),
            publisher,
            claims={"repository": "trailofbits/other"},
        )
    )

    assert message.startswith("Invalid attestations supplied during upload: ")
    assert (
        "signed by https://github.com/trailofbits/pypi-attestations/.github/workflows/" in message
    )
    assert "not this upload's trusted publisher (GitHub Actions: trailofbits/other" in message


def test_an_attestation_through_a_publisher_for_another_workflow_is_refused():
    message = refusal(
        lambda: verify_github(field(f"{GH_DIST}.publish.attestation"), github(workflow="ci.yml"))
    )

    assert "release.yml@refs/tags/v0.0.19" in message and "workflow ci.yml" in message


def test_a_gitlab_attestation_through_a_github_publisher_is_refused():
    message = refusal(
        lambda: verify_github(
            field(f"{GL_DIST}.publish.attestation"), filename=GL_DIST, sha256=sha256_of(GL_DIST)
        )
    )

    assert "does not verify" in message and "https://gitlab.com" in message


def test_a_file_changed_by_one_byte_is_refused():
    changed = bytearray((ASSETS / GH_DIST).read_bytes())
    changed[-1] ^= 1
    message = refusal(
        lambda: verify_github(
            field(f"{GH_DIST}.publish.attestation"), sha256=hashlib.sha256(changed).hexdigest()
        )
    )

    assert "subject does not match distribution digest" in message


def test_an_attestation_for_another_file_name_is_refused():
    message = refusal(
        lambda: verify_github(
            field(f"{GH_DIST}.publish.attestation"), filename="pypi_attestations-0.0.20.tar.gz"
        )
    )

    assert "subject does not match distribution name" in message


def test_a_tampered_signature_is_refused():
    attestation = json.loads((ASSETS / f"{GH_DIST}.publish.attestation").read_text())
    signature = bytearray(base64.b64decode(attestation["envelope"]["signature"]))
    signature[10] ^= 1
    attestation["envelope"]["signature"] = base64.b64encode(signature).decode()

    message = refusal(lambda: verify_github(json.dumps([attestation])))

    assert "invalid signature" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("not json", "must be a JSON array of PEP 740 attestation objects"),
        ('{"version": 1}', "must be a JSON array of PEP 740 attestation objects"),
        ('[{"version": 2}]', "0.version"),
        ("[]", "the array is empty"),
    ],
)
def test_a_field_that_is_not_an_array_of_attestations_is_refused(value, expected):
    assert expected in refusal(lambda: verify_github(value))


def test_more_than_one_attestation_per_predicate_type_is_refused():
    same_twice = field(f"{GH_DIST}.publish.attestation", f"{GH_DIST}.publish.attestation")

    assert "same predicate type" in refusal(lambda: verify_github(same_twice))


def test_attestations_without_a_trusted_publisher_are_refused():
    message = refusal(
        lambda: attestations.verify(
            field(f"{GH_DIST}.publish.attestation"),
            publisher=None,
            claims={},
            filename=GH_DIST,
            sha256=sha256_of(GH_DIST),
        )
    )

    assert message.startswith("Attestations are only accepted from trusted publishers")


def test_attestations_from_a_self_managed_gitlab_are_refused_with_the_reason():
    message = refusal(
        lambda: attestations.verify(
            field(f"{GL_DIST}.publish.attestation"),
            publisher=gitlab(issuer="https://gitlab.example.com"),
            claims=GL_CLAIMS,
            filename=GL_DIST,
            sha256=sha256_of(GL_DIST),
        )
    )

    assert "only for gitlab.com" in message


def test_the_provenance_object_is_what_pypi_attestations_reads_and_verifies():
    verified = verify_github(field(f"{GH_DIST}.publish.attestation"))
    row = attestations.Provenance(
        publisher_object=verified.publisher_object, attestations=verified.attestations
    )

    provenance = Provenance.model_validate_json(attestations.provenance_bytes(row))

    (bundle,) = provenance.attestation_bundles
    (attestation,) = bundle.attestations
    assert isinstance(attestation, Attestation)
    attestation.verify(
        bundle.publisher, Distribution.from_file(ASSETS / GH_DIST), offline=True
    )  # raises if the served object lost anything


def test_a_file_name_that_is_no_distribution_is_refused():
    message = refusal(
        lambda: verify_github(field(f"{GH_DIST}.publish.attestation"), filename="setup.py")
    )

    assert "setup.py is not a wheel or sdist file name" in message
