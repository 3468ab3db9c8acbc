"""Each kind of CI in one class: the fields a publisher of it has, and the claims it checks.

A token is matched in three narrowing steps (repository, workflow, environment), each of which
can fail with its own error code, so a CI log says exactly which part of a publisher did not
match. Then :meth:`Kind.verify` checks what must hold between the claims themselves (the
workflow reference names the same repository and the token's own ref or commit; no
``pull_request_target`` run; the owner's numeric id). Another kind (Google Cloud, ActiveState,
a Forgejo instance) is one more subclass in :data:`KINDS`.

Each kind also says which Sigstore identity a PEP 740 attestation made by its CI must carry
(:meth:`Kind.attestation_identity`), and how a run is described on a project page.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import pypi_attestations  # imported where used: see bastion.publishing.attestations
    from django.db.models import QuerySet

    from bastion.publishing.models import Publisher


class ClaimRefused(Exception):
    """A token's claims do not fit: ``code`` for programs, ``description`` for people."""

    def __init__(self, code: str, description: str):
        super().__init__(description)
        self.code = code
        self.description = description


class InvalidPublisher(ValueError):
    """A publisher's configuration is not valid for its kind (shown beside the form field)."""


#: Characters an environment name may not hold (GitHub's rules, which PyPI applies).
_BAD_ENVIRONMENT = re.compile(r"[\x00-\x1f\x7f'\"`,;\\]")


def _check_environment(environment: str) -> str:
    if len(environment) > 255:
        raise InvalidPublisher("An environment name is at most 255 characters.")
    if environment != environment.strip():
        raise InvalidPublisher("An environment name may not start or end with a space.")
    if _BAD_ENVIRONMENT.search(environment):
        raise InvalidPublisher(
            "An environment name may not contain quotes, commas, semicolons, backslashes or "
            "control characters."
        )
    return environment


@dataclass(frozen=True)
class Identity:
    """What a token says about itself, in the terms publishers are configured in."""

    repository: str
    workflow: str
    environment: str


class Kind(ABC):
    """One kind of CI. Subclasses fill in the claims; the matching is the same for all."""

    name: ClassVar[str]
    label: ClassVar[str]
    default_issuer: ClassVar[str]
    repository_label: ClassVar[str]
    workflow_label: ClassVar[str]
    required_claims: ClassVar[tuple[str, ...]]
    environment_case_sensitive: ClassVar[bool]

    # -- configuring ---------------------------------------------------------------------------

    @abstractmethod
    def clean(self, repository: str, workflow: str, environment: str) -> tuple[str, str, str]:
        """The fields as stored, or :class:`InvalidPublisher` saying which is wrong."""

    def describe(self, publisher: Publisher) -> str:
        where = f"{publisher.repository} workflow {publisher.workflow}"
        if publisher.environment:
            where += f" environment {publisher.environment}"
        return f"{self.label}: {where}"

    def url(self, publisher: Publisher, repository: str = "") -> str:
        """The repository's web address (``repository`` as a run's claims spell it, if given)."""
        host = urlsplit(publisher.issuer).hostname if self.name != "github" else "github.com"
        return f"https://{host}/{repository or publisher.repository}"

    # -- matching ------------------------------------------------------------------------------

    @abstractmethod
    def identity(self, claims: dict) -> Identity:
        """Who the token says it is: the repository, workflow and environment to match."""

    def verify(self, publisher: Publisher, claims: dict) -> None:  # noqa: B027 - an optional hook
        """Checks between claims, after a publisher matched; raise :class:`ClaimRefused`."""

    @abstractmethod
    def event_claims(self, claims: dict) -> dict:
        """The claims an upload's security event records."""

    # -- attestations (PEP 740) ----------------------------------------------------------------

    @abstractmethod
    def attestation_identity(
        self, publisher: Publisher, claims: dict
    ) -> pypi_attestations.GitHubPublisher | pypi_attestations.GitLabPublisher:
        """The identity an attestation's Sigstore certificate must name, for an upload by
        ``publisher`` whose trade recorded ``claims`` (:meth:`event_claims`).

        The repository comes from the claims: the CI spells it in its canonical case, which is
        what the certificate holds, while the publisher keeps it as an owner typed it (matched
        case-insensitively). Raise :class:`InvalidPublisher` when no attestation can match.
        """

    def check_required(self, claims: dict) -> None:
        for claim in self.required_claims:
            if not claims.get(claim):
                raise ClaimRefused(
                    "missing-claim", f"The token has no '{claim}' claim, which {self.label} sets."
                )

    def same_environment(self, configured: str, claimed: str) -> bool:
        if self.environment_case_sensitive:
            return configured == claimed
        return configured.lower() == claimed.lower()

    def matching(self, publishers: QuerySet[Publisher], claims: dict) -> list[Publisher]:
        """Every publisher these claims fit, by repository, workflow and environment, the one
        the token is minted for first.

        Each publisher that accepts the claims counts: they may belong to projects of other
        accounts, and the token uploads to all of their projects (as on PyPI, where one
        publisher serves many projects), so no account can take a CI job's token away from
        another by registering the same workflow. A project's publisher comes before a pending
        one, so a pending publisher is never turned into a project while a project's publisher
        accepts the job; then one pinned to the token's environment before one that accepts
        any; then the oldest.
        """
        self.check_required(claims)
        token = self.identity(claims)
        candidates = list(publishers.filter(repository__iexact=token.repository))
        if not candidates:
            raise ClaimRefused(
                "invalid-repository",
                f"No trusted publisher is configured for the repository '{token.repository}' "
                f"(claim {self.repository_claim}).",
            )
        workflows = sorted({p.workflow for p in candidates})
        candidates = [p for p in candidates if p.workflow == token.workflow]
        if not candidates:
            raise ClaimRefused(
                "invalid-workflow",
                f"The token was made by the workflow '{token.workflow}' of '{token.repository}', "
                f"but its publishers accept only {', '.join(workflows)} "
                f"(claim {self.workflow_claim}).",
            )
        accepting = [
            p
            for p in candidates
            if not p.environment or self.same_environment(p.environment, token.environment)
        ]
        if not accepting:
            wanted = ", ".join(sorted({p.environment for p in candidates}))
            raise ClaimRefused(
                "invalid-environment",
                f"The token was made in the environment '{token.environment or '(none)'}', but "
                f"the publishers of '{token.repository}' with workflow '{token.workflow}' "
                f"accept only {wanted} (claim environment).",
            )
        accepting.sort(key=lambda p: (p.is_pending, not p.environment, p.pk))
        return self._verified(accepting, claims)

    def _verified(self, publishers: list[Publisher], claims: dict) -> list[Publisher]:
        """Those of ``publishers`` whose own checks pass; the first one's refusal if none do."""
        verified, refusals = [], []
        for publisher in publishers:
            try:
                self.verify(publisher, claims)
            except ClaimRefused as refused:
                refusals.append(refused)
            else:
                verified.append(publisher)
        if not verified:
            raise refusals[0]
        return verified

    repository_claim: ClassVar[str] = "repository"
    workflow_claim: ClassVar[str] = "workflow"


class GitHub(Kind):
    name = "github"
    label = "GitHub Actions"
    default_issuer = "https://token.actions.githubusercontent.com"
    repository_label = "OWNER/REPO"
    workflow_label = "workflow file name, e.g. release.yml"
    required_claims = ("repository", "repository_owner", "repository_owner_id", "job_workflow_ref")
    environment_case_sensitive = False
    repository_claim = "repository"
    workflow_claim = "job_workflow_ref"

    _OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
    _REPO = re.compile(r"[A-Za-z0-9_.-]{1,100}")
    _WORKFLOW = re.compile(r"[^/]+\.ya?ml")
    _WORKFLOW_REF = re.compile(
        r"(?P<repo>[^/]+/[^/]+)/\.github/workflows/(?P<file>[^@]+)@(?P<ref>.*)"
    )

    def clean(self, repository: str, workflow: str, environment: str) -> tuple[str, str, str]:
        owner, _, repo = repository.strip().partition("/")
        if not (self._OWNER.fullmatch(owner) and self._REPO.fullmatch(repo)):
            raise InvalidPublisher(
                f"'{repository}' is not a GitHub repository: write OWNER/REPO, "
                "e.g. pypa/sampleproject."
            )
        workflow = workflow.strip()
        if not self._WORKFLOW.fullmatch(workflow):
            raise InvalidPublisher(
                f"'{workflow}' is not a workflow file name: give the file name in "
                ".github/workflows/, ending in .yml or .yaml, without a path."
            )
        return f"{owner}/{repo}", workflow, _check_environment(environment).lower()

    def _workflow_ref(self, claims: dict) -> re.Match | None:
        return self._WORKFLOW_REF.fullmatch(claims.get("job_workflow_ref", ""))

    def identity(self, claims: dict) -> Identity:
        ref = self._workflow_ref(claims)
        return Identity(
            repository=claims["repository"],
            workflow=ref["file"] if ref else "",
            environment=claims.get("environment") or "",
        )

    def verify(self, publisher: Publisher, claims: dict) -> None:
        if claims.get("event_name") == "pull_request_target":
            raise ClaimRefused(
                "invalid-event",
                "Tokens from pull_request_target runs are refused: such runs can execute code "
                "from a pull request (claim event_name).",
            )
        owner = claims["repository"].partition("/")[0]
        if claims["repository_owner"].lower() != owner.lower():
            raise ClaimRefused(
                "invalid-publisher",
                f"The claim repository_owner '{claims['repository_owner']}' does not own "
                f"'{claims['repository']}'.",
            )
        if publisher.owner_id and publisher.owner_id != str(claims["repository_owner_id"]):
            raise ClaimRefused(
                "invalid-owner-id",
                f"The owner of '{publisher.repository}' is no longer the account it was when this "
                "publisher was first used (claim repository_owner_id): the account was deleted "
                "and its name taken again. An owner must remove and add the publisher again.",
            )
        ref = self._workflow_ref(claims)
        runs_at = {claims.get("ref") or None, claims.get("sha") or None} - {None}
        if ref is None or ref["repo"].lower() != claims["repository"].lower():
            raise ClaimRefused(
                "invalid-publisher",
                f"The claim job_workflow_ref '{claims['job_workflow_ref']}' does not name a "
                f"workflow of '{claims['repository']}' (reusable workflows of another "
                "repository are not supported).",
            )
        if ref["ref"] not in runs_at:
            raise ClaimRefused(
                "invalid-publisher",
                f"The claim job_workflow_ref '{claims['job_workflow_ref']}' is not at the run's "
                "own ref or sha (reusable workflows at another ref are not supported).",
            )

    def event_claims(self, claims: dict) -> dict:
        ref = self._workflow_ref(claims)
        return {
            "repository": claims.get("repository", ""),
            "workflow": ref["file"] if ref else "",
            "ref": claims.get("ref", ""),
            "sha": claims.get("sha", ""),
            "environment": claims.get("environment", ""),
            "run_id": str(claims.get("run_id", "")),
            "run_url": (
                f"https://github.com/{claims.get('repository')}/actions/runs/{claims['run_id']}"
                if claims.get("run_id")
                else ""
            ),
        }

    def attestation_identity(
        self, publisher: Publisher, claims: dict
    ) -> pypi_attestations.GitHubPublisher:
        import pypi_attestations

        return pypi_attestations.GitHubPublisher(
            repository=claims.get("repository") or publisher.repository,
            workflow=publisher.workflow,
            environment=publisher.environment or None,
        )


class GitLab(Kind):
    name = "gitlab"
    label = "GitLab CI/CD"
    default_issuer = "https://gitlab.com"
    repository_label = "NAMESPACE/PROJECT"
    workflow_label = "CI config file path, e.g. .gitlab-ci.yml"
    required_claims = ("sub", "project_path", "ci_config_ref_uri", "ref_path", "sha")
    environment_case_sensitive = True
    repository_claim = "project_path"
    workflow_claim = "ci_config_ref_uri"

    _PART = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*")
    _CONFIG = re.compile(r"[^/].*\.ya?ml")
    _CONFIG_REF = re.compile(r"(?P<host>[^/]+)/(?P<project>.+?)//(?P<path>[^@]+)@(?P<ref>.*)")

    def clean(self, repository: str, workflow: str, environment: str) -> tuple[str, str, str]:
        parts = repository.strip().strip("/").split("/")
        if len(parts) < 2 or not all(self._PART.fullmatch(part) for part in parts):
            raise InvalidPublisher(
                f"'{repository}' is not a GitLab project: write NAMESPACE/PROJECT, with any "
                "subgroups, e.g. group/subgroup/project."
            )
        workflow = workflow.strip()
        if not self._CONFIG.fullmatch(workflow) or workflow.endswith("/"):
            raise InvalidPublisher(
                f"'{workflow}' is not a CI config file path: give the path of the top-level "
                "pipeline file in the project, ending in .yml or .yaml, without a leading /."
            )
        return "/".join(parts), workflow, _check_environment(environment)

    def _config_ref(self, claims: dict) -> re.Match | None:
        return self._CONFIG_REF.fullmatch(claims.get("ci_config_ref_uri", ""))

    def identity(self, claims: dict) -> Identity:
        ref = self._config_ref(claims)
        return Identity(
            repository=claims["project_path"],
            workflow=ref["path"] if ref else "",
            environment=claims.get("environment") or "",
        )

    def verify(self, publisher: Publisher, claims: dict) -> None:
        project_path = claims["project_path"]
        if not claims["sub"].lower().startswith(f"project_path:{project_path.lower()}:"):
            raise ClaimRefused(
                "invalid-publisher",
                f"The claim sub '{claims['sub']}' does not name the project '{project_path}'.",
            )
        ref = self._config_ref(claims)
        host = urlsplit(publisher.issuer).netloc
        if (
            ref is None
            or ref["host"] != host
            or ref["project"].lower() != project_path.lower()
            or ref["ref"] not in {claims["ref_path"], claims["sha"]}
        ):
            raise ClaimRefused(
                "invalid-publisher",
                f"The claim ci_config_ref_uri '{claims['ci_config_ref_uri']}' does not name a "
                f"pipeline file of '{project_path}' on {host} at the run's own ref_path or sha.",
            )

    def event_claims(self, claims: dict) -> dict:
        ref = self._config_ref(claims)
        return {
            "repository": claims.get("project_path", ""),
            "workflow": ref["path"] if ref else "",
            "ref": claims.get("ref_path", ""),
            "sha": claims.get("sha", ""),
            "environment": claims.get("environment", ""),
            "run_id": str(claims.get("pipeline_id", "")),
            "run_url": (
                f"https://{ref['host']}/{claims['project_path']}/-/pipelines/{claims['pipeline_id']}"
                if ref and claims.get("pipeline_id")
                else ""
            ),
        }

    def attestation_identity(
        self, publisher: Publisher, claims: dict
    ) -> pypi_attestations.GitLabPublisher:
        if publisher.issuer != self.default_issuer:
            raise InvalidPublisher(
                f"Attestations are verified only for gitlab.com ({self.default_issuer}), whose "
                f"identity Sigstore certifies; this publisher's issuer is {publisher.issuer}. "
                "Upload without attestations."
            )
        import pypi_attestations

        return pypi_attestations.GitLabPublisher(
            repository=claims.get("repository") or publisher.repository,
            workflow_filepath=publisher.workflow,
            environment=publisher.environment or None,
        )


KINDS: dict[str, Kind] = {kind.name: kind for kind in (GitHub(), GitLab())}


def kind_of(name: str) -> Kind:
    return KINDS[name]
