"""PEP 740 attestations: checking what a trusted publisher's CI job signed, and serving it.

An upload through a trusted publisher may carry, in its ``attestations`` form field, a JSON array
of attestation objects: Sigstore-signed in-toto statements naming the file and its sha256, made
in the same CI job with that job's identity. :func:`verify` checks each with the maintained
``pypi-attestations`` library, in two steps so that a refusal says which part failed:

1. the signature, the certificate chain to Sigstore's root, the transparency log entry, the
   certificate's OIDC issuer (the publisher's CI), and the statement's subject (the
   distribution's filename, compared by parsing, and its sha256);
2. the certificate's identity, repository and workflow, against the publisher that made the
   upload token (:meth:`bastion.publishing.kinds.Kind.attestation_identity`).

Verification never touches the network: the library's offline mode reads Sigstore's trust root
from the user cache directory, seeded from the copy inside the installed ``sigstore`` wheel
(upgrade ``sigstore`` to follow a root rotation).

The verified attestations are served as PEP 740's provenance object, one bundle per file, with
the publisher's identity beside them (:func:`provenance_document`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from bastion.critical.models import Designation
from bastion.packaging.models import File, ProjectStatus
from bastion.packaging.services import normalize
from bastion.publishing.kinds import InvalidPublisher, kind_of
from bastion.publishing.models import Provenance, Publisher

if TYPE_CHECKING:
    # pypi-attestations brings sigstore, pydantic, TUF and boto3: about 4 s of imports and
    # tens of MiB in every server process. Only an upload that carries attestations needs
    # them, so each function imports what it uses.
    import pydantic
    from pypi_attestations import Attestation, Distribution, GitHubPublisher, GitLabPublisher

#: PEP 740 lets a file carry one attestation per predicate type; PyPI knows two types.
MAX_ATTESTATIONS = 2

#: The media type PyPI serves provenance objects as; ``application/json`` is accepted too.
INTEGRITY_MEDIA_TYPE = "application/vnd.pypi.integrity.v1+json"

_INVALID = "Invalid attestations supplied during upload: "
_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"  # Fulcio's certificate extension
_SOURCE_REPOSITORY_URI = "1.3.6.1.4.1.57264.1.12"


class AttestationRefused(Exception):
    """Attestations that cannot be accepted; ``message`` is the upload's reason phrase."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Verified:
    """Attestations that verified, with what their provenance row records."""

    publisher: Publisher
    publisher_object: dict  # PEP 740's publisher object, as served
    attestations: list[dict]  # the attestation objects, as uploaded
    claims: dict  # the run's claims, as the upload's security event records them
    source_url: str  # the repository's web address


@cache
def _attestation_list() -> pydantic.TypeAdapter[list[Attestation]]:
    import pydantic
    from pypi_attestations import Attestation

    return pydantic.TypeAdapter(list[Attestation])


def parse(field: str) -> list[Attestation]:
    """The attestation objects in the ``attestations`` form field (a JSON array)."""
    import pydantic

    try:
        attestations = _attestation_list().validate_json(field)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the field"
        raise AttestationRefused(
            f"{_INVALID}the field must be a JSON array of PEP 740 attestation objects "
            f"({where}: {first['msg']})."
        ) from exc
    if not attestations:
        raise AttestationRefused(f"{_INVALID}the array is empty; send at least one attestation.")
    if len(attestations) > MAX_ATTESTATIONS:
        raise AttestationRefused(
            f"{_INVALID}{len(attestations)} attestations for one file; at most "
            f"{MAX_ATTESTATIONS} (one per predicate type) are accepted."
        )
    return attestations


def verify(
    field: str, *, publisher: Publisher | None, claims: dict, filename: str, sha256: str
) -> Verified:
    """Check the ``attestations`` field of an upload of ``filename`` (with ``sha256``) made
    through ``publisher``, whose trade recorded ``claims``; raise :class:`AttestationRefused`.
    """
    import pydantic
    from pypi_attestations import Distribution

    if publisher is None:
        raise AttestationRefused(
            "Attestations are only accepted from trusted publishers: this upload was "
            "authenticated with a person's API token. Upload without --attestations, or publish "
            "from CI through a trusted publisher."
        )
    attestations = parse(field)
    kind = kind_of(publisher.kind)
    try:
        identity = kind.attestation_identity(publisher, claims)
    except InvalidPublisher as exc:
        raise AttestationRefused(f"{_INVALID}{exc}") from exc
    try:
        distribution = Distribution(name=filename, digest=sha256)
    except pydantic.ValidationError as exc:
        raise AttestationRefused(
            f"{_INVALID}{filename} is not a wheel or sdist file name that attestations can name."
        ) from exc
    predicate_types = set()
    for attestation in attestations:
        predicate_types.add(_verify_signature(attestation, distribution, publisher.issuer))
        _verify_identity(attestation, identity, distribution, str(publisher))
    if len(predicate_types) < len(attestations):
        raise AttestationRefused(f"{_INVALID}two attestations have the same predicate type.")
    return Verified(
        publisher=publisher,
        publisher_object={**identity.model_dump(mode="json"), "claims": None},
        attestations=[a.model_dump(mode="json") for a in attestations],
        claims=claims,
        source_url=kind.url(publisher, claims.get("repository", "")),
    )


def _verify_signature(attestation: Attestation, distribution: Distribution, issuer: str) -> str:
    """Signature, certificate chain, log entry, issuer, subject name and digest; the predicate
    type. What is left for :func:`_verify_identity` is which repository and workflow signed."""
    from pypi_attestations import AttestationError
    from sigstore.verify.policy import OIDCIssuerV2

    try:
        predicate_type, _ = attestation.verify(OIDCIssuerV2(issuer), distribution, offline=True)
    except (AttestationError, ValueError) as exc:
        raise AttestationRefused(
            f"{_INVALID}the attestation does not verify for {distribution.name}: "
            f"{_without_prefix(exc)}."
        ) from exc
    return predicate_type


def _verify_identity(
    attestation: Attestation,
    identity: GitHubPublisher | GitLabPublisher,
    distribution: Distribution,
    publisher: str,
) -> None:
    """The certificate names the publisher's repository and workflow (signature already holds)."""
    from pypi_attestations import AttestationError

    try:
        attestation.verify(identity, distribution, offline=True)
    except (AttestationError, ValueError) as exc:
        claims = attestation.certificate_claims
        signer = claims.get(_BUILD_CONFIG_URI) or claims.get(_SOURCE_REPOSITORY_URI) or "unknown"
        raise AttestationRefused(
            f"{_INVALID}the attestation of {distribution.name} was signed by {signer}, which is "
            f"not this upload's trusted publisher ({publisher})."
        ) from exc


def _without_prefix(exc: Exception) -> str:
    return str(exc).removeprefix("Verification failed: ").rstrip(".")


def record(verified: Verified, file) -> Provenance:
    """Store a file's verified attestations; runs inside the upload's transaction."""
    return Provenance.objects.create(
        file=file,
        publisher=verified.publisher,
        kind=verified.publisher.kind,
        publisher_object=verified.publisher_object,
        attestations=verified.attestations,
        claims=verified.claims,
        source_url=verified.source_url,
    )


@dataclass(frozen=True)
class PublishedFrom:
    """Where an attested file was built, as a project page shows it (PyPI's verified details)."""

    source: str  # host/OWNER/REPO
    source_url: str
    workflow: str
    commit: str
    run_url: str


def published_from(file_ids: list[int]) -> dict[int, PublishedFrom]:
    """For each of these files that has provenance, the run that built and attested it."""
    rows = Provenance.objects.filter(file_id__in=file_ids).only("file_id", "claims", "source_url")
    return {
        row.file_id: PublishedFrom(
            source=row.source_url.removeprefix("https://"),
            source_url=row.source_url,
            workflow=row.claims.get("workflow", ""),
            commit=row.claims.get("sha", ""),
            run_url=row.claims.get("run_url", ""),
        )
        for row in rows
    }


def find_provenance(name: str, version: str, filename: str) -> Provenance | None:
    """The provenance of a file named by its provenance URL; None for a file without one, a
    name that does not match, or a project whose files are hidden (quarantined)."""
    return (
        Provenance.objects.filter(
            file__filename=filename,
            file__release__version=version,
            file__release__project__normalized_name=normalize(name),
        )
        .exclude(file__release__project__status=ProjectStatus.QUARANTINED)
        .first()
    )


def provenance_document(provenance: Provenance) -> dict:
    """PEP 740's provenance object: one bundle, the publisher and its attestations."""
    return {
        "version": 1,
        "attestation_bundles": [
            {"publisher": provenance.publisher_object, "attestations": provenance.attestations}
        ],
    }


def provenance_bytes(provenance: Provenance) -> bytes:
    return json.dumps(provenance_document(provenance), separators=(",", ":")).encode()


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def attestation_shares() -> dict:
    """How many files carry verified attestations, overall and in critical projects (for
    ``bastion stats`` and /stats/): the share of releases whose origin anyone can check."""
    files = File.objects.all()
    critical = files.filter(
        release__project__normalized_name__in=Designation.objects.active().values("normalized_name")
    )
    counts = {}
    for scope, queryset in (("all", files), ("critical", critical)):
        total = queryset.count()
        attested = queryset.filter(provenance__isnull=False).count()
        counts[scope] = {"files": total, "attested": attested, "share": _share(attested, total)}
    return counts
