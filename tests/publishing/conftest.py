"""A CI issuer of our own: an RSA key, its key set, and tokens with GitHub's or GitLab's claims.

The unit tests replace :func:`bastion.publishing.issuers.fetch_json` so the "issuer" is this
module's key set, while the tokens still name the real issuers, as the e2e test does over HTTP.
"""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from bastion import authz
from bastion.packaging.models import Project
from bastion.publishing import issuers, services

GITHUB = "https://token.actions.githubusercontent.com"
GITLAB = "https://gitlab.com"


class SigningKey:
    def __init__(self, key_id: str):
        self.key_id = key_id
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.key_id, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.key_id})


def github_claims(
    repository: str = "octo/widget",
    workflow: str = "release.yml",
    *,
    environment: str | None = None,
    ref: str = "refs/tags/v1.0",
    audience: str = "localhost",
    lifetime: int = 300,
    **overrides,
) -> dict:
    now = int(time.time())
    owner = repository.partition("/")[0]
    claims = {
        "iss": GITHUB,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
        "sub": f"repo:{repository}:ref:{ref}",
        "repository": repository,
        "repository_owner": owner,
        "repository_owner_id": "4242",
        "job_workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
        "workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
        "ref": ref,
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "event_name": "push",
        "run_id": "987654",
    }
    if environment is not None:
        claims["environment"] = environment
    claims.update(overrides)
    return claims


def gitlab_claims(
    project_path: str = "group/widget",
    config: str = ".gitlab-ci.yml",
    *,
    environment: str | None = None,
    ref_path: str = "refs/tags/v1.0",
    audience: str = "localhost",
    **overrides,
) -> dict:
    now = int(time.time())
    claims = {
        "iss": GITLAB,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        "sub": f"project_path:{project_path}:ref_type:tag:ref:v1.0",
        "project_path": project_path,
        "namespace_path": project_path.rpartition("/")[0],
        "ci_config_ref_uri": f"gitlab.com/{project_path}//{config}@{ref_path}",
        "ref_path": ref_path,
        "sha": "89abcdef0123456789abcdef0123456789abcdef",
        "pipeline_id": "1234",
    }
    if environment is not None:
        claims["environment"] = environment
    claims.update(overrides)
    return claims


class FakeIssuers:
    """Every configured issuer publishes ``keys``; ``fetches`` counts key-set downloads."""

    def __init__(self):
        self.keys = [SigningKey("key-1")]
        self.fetches = 0

    @property
    def key(self) -> SigningKey:
        return self.keys[0]

    def fetch_json(self, url: str) -> dict:
        if url.endswith("/.well-known/openid-configuration"):
            return {"jwks_uri": url.replace("/.well-known/openid-configuration", "/jwks")}
        self.fetches += 1
        return {"keys": [key.public_jwk() for key in self.keys]}


@pytest.fixture
def ci(monkeypatch, settings):
    settings.OIDC_AUDIENCE = "localhost"
    fake = FakeIssuers()
    monkeypatch.setattr(issuers, "fetch_json", fake.fetch_json)
    issuers.forget_keys()
    yield fake
    issuers.forget_keys()


class Exchange:
    def __init__(self, ci: FakeIssuers):
        self.ci = ci
        self.client = Client()

    def post(self, token: str):
        return self.client.post(
            "/_/oidc/mint-token", json.dumps({"token": token}), content_type="application/json"
        )

    def mint(self, claims: dict, key: SigningKey | None = None):
        return self.post((key or self.ci.key).sign(claims))

    def refused_with(self, claims: dict, key: SigningKey | None = None) -> str:
        response = self.mint(claims, key)
        assert response.status_code == 422, response.content
        body = response.json()
        assert body["message"] == "Token request failed"
        (error,) = body["errors"]
        assert error["description"]
        return error["code"]


@pytest.fixture
def exchange(ci) -> Exchange:
    return Exchange(ci)


def publish_from_octo_widget(
    project: Project,
    *,
    actor: authz.Actor | None = None,
    environment: str = "",
    workflow: str = "release.yml",
):
    """Let the octo/widget GitHub workflow publish ``project``: added by ``actor`` (the operator
    unless given), pinned to ``environment`` if given."""
    return services.add_publisher(
        actor=actor or authz.Actor.operator(),
        project=project,
        kind="github",
        repository="octo/widget",
        workflow=workflow,
        environment=environment,
    )


def trade(exchange: Exchange, project: Project) -> str:
    """Let the octo/widget GitHub workflow publish ``project`` and trade a token from its
    ``pypi`` environment; returns the upload token."""
    publish_from_octo_widget(project)
    response = exchange.mint(github_claims(environment="pypi"))
    assert response.status_code == 200, response.content
    return response.json()["token"]
