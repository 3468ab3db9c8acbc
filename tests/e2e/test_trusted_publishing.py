"""Trusted publishing end to end: a local OIDC issuer, the exchange over HTTP, real twine.

The issuer is an ``http.server`` on the loopback with its own RSA key, serving a discovery
document and a key set. ``BASTION_OIDC_ISSUERS`` points GitHub's and GitLab's issuer URLs at its
key set (``jwks_url``), so the tokens name the real issuers, as CI jobs' tokens do.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from pypi_attestations import Distribution, Provenance

from tests.e2e.conftest import _start_server, _stop
from tests.e2e.sample import build_project
from tests.publishing.test_attestations import ASSETS, GH_DIST

pytestmark = pytest.mark.e2e

GITHUB = "https://token.actions.githubusercontent.com"
GITLAB = "https://gitlab.com"
KEY_ID = "local-ci-key"


class LocalIssuer:
    """A CI platform's OIDC issuer, reduced to what Bastion reads: discovery and keys."""

    def __init__(self):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        documents = {"/jwks": {"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                document = documents.get(self.path)
                body = json.dumps(document).encode()
                self.send_response(200 if document else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        documents["/.well-known/openid-configuration"] = {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks",
        }
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": KEY_ID})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def issuer():
    local = LocalIssuer()
    yield local
    local.close()


@pytest.fixture(scope="module")
def index(tmp_path_factory, issuer):
    issuers = {
        GITHUB: {"kind": "github", "jwks_url": f"{issuer.url}/jwks"},
        GITLAB: {"kind": "gitlab", "jwks_url": f"{issuer.url}/jwks"},
    }
    tmp = tmp_path_factory.mktemp("trusted")
    offline = {  # sigstore's cache starts empty: attestations verify with the root its wheel ships
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "XDG_DATA_HOME": str(tmp / "share"),
    }
    live = _start_server(tmp, extra_env={"BASTION_OIDC_ISSUERS": json.dumps(issuers), **offline})
    yield live
    _stop(live.process)


def _standard(issuer_url: str, audience: str) -> dict:
    now = int(time.time())
    return {
        "iss": issuer_url,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }


def github_token(issuer, audience: str, repository: str, workflow: str, environment: str):
    ref = "refs/tags/v1.0"
    return issuer.sign(
        {
            **_standard(GITHUB, audience),
            "sub": f"repo:{repository}:environment:{environment}",
            "repository": repository,
            "repository_owner": repository.partition("/")[0],
            "repository_owner_id": "1001",
            "job_workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
            "ref": ref,
            "sha": "a" * 40,
            "environment": environment,
            "event_name": "push",
            "run_id": "5551212",
        }
    )


def gitlab_token(issuer, audience: str, project_path: str, config: str):
    return issuer.sign(
        {
            **_standard(GITLAB, audience),
            "sub": f"project_path:{project_path}:ref_type:branch:ref:main",
            "project_path": project_path,
            "ci_config_ref_uri": f"gitlab.com/{project_path}//{config}@refs/heads/main",
            "ref_path": "refs/heads/main",
            "sha": "b" * 40,
            "pipeline_id": "777",
        }
    )


def trade(index, make_token) -> str:
    """What a CI job does: ask the audience, get a token for it, trade it for an upload token."""
    audience = requests.get(f"{index.url}/_/oidc/audience", timeout=10).json()["audience"]
    response = requests.post(
        f"{index.url}/_/oidc/mint-token", json={"token": make_token(audience)}, timeout=10
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["expires"] > time.time() + 800
    return body["token"]


def create_project(index, name: str, owner: str) -> None:
    index.bastion("users", "create", owner, "--email", f"{owner}@example.com", "--verified")
    index.python(
        "from bastion.accounts.models import User\n"
        "from bastion import authz\n"
        "from bastion.authz import creation\n"
        "user = User.objects.get(username=sys.argv[2])\n"
        "creation.create_project(actor=authz.Actor(user), name=sys.argv[1])\n",
        name,
        owner,
    )


def upload_events(index, project: str) -> list[dict]:
    out = index.python(
        "import json\n"
        "from bastion.events.models import SecurityEvent\n"
        "events = SecurityEvent.objects.filter(tag='file:upload',"
        " project__normalized_name=sys.argv[1])\n"
        "print(json.dumps([event.additional for event in events]))\n",
        project,
    )
    return json.loads(out)


def test_github_actions_publishes_with_twine(index, issuer, tmp_path):
    create_project(index, "gh-pkg", "gh-owner")
    added = index.bastion(
        "publishers", "add", "gh-pkg", "--github", "octo/gh-pkg",
        "--workflow", "release.yml", "--environment", "pypi",
    )  # fmt: skip
    assert "Added trusted publisher" in added.stdout
    built = build_project(tmp_path, "gh-pkg", "1.0")

    token = trade(
        index, lambda aud: github_token(issuer, aud, "octo/gh-pkg", "release.yml", "pypi")
    )
    result = index.twine_upload(token, built.wheel, built.sdist)

    assert result.returncode == 0, result.output
    events = upload_events(index, "gh-pkg")
    assert len(events) == 2
    for event in events:
        assert event["publisher"] == (
            "GitHub Actions: octo/gh-pkg workflow release.yml environment pypi"
        )
        assert event["claims"]["sha"] == "a" * 40
        assert event["claims"]["run_id"] == "5551212"
    listed = json.loads(index.bastion("publishers", "list", "gh-pkg", "--json").stdout)
    assert [(p["repository"], p["environment"]) for p in listed] == [("octo/gh-pkg", "pypi")]


def test_gitlab_ci_publishes_with_twine(index, issuer, tmp_path):
    create_project(index, "gl-pkg", "gl-owner")
    index.bastion(
        "publishers",
        "add",
        "gl-pkg",
        "--gitlab",
        "group/sub/gl-pkg",
        "--workflow",
        ".gitlab-ci.yml",
    )
    built = build_project(tmp_path, "gl-pkg", "1.0")

    token = trade(
        index, lambda aud: gitlab_token(issuer, aud, "group/sub/gl-pkg", ".gitlab-ci.yml")
    )
    result = index.twine_upload(token, built.wheel)

    assert result.returncode == 0, result.output
    (event,) = upload_events(index, "gl-pkg")
    assert event["claims"]["repository"] == "group/sub/gl-pkg"
    assert event["claims"]["ref"] == "refs/heads/main"


def test_pending_publisher_creates_its_project_on_the_first_trusted_upload(index, issuer, tmp_path):
    index.bastion("users", "create", "pat", "--email", "pat@example.com", "--verified")
    added = index.bastion(
        "publishers", "add", "fresh-pkg", "--github", "octo/fresh",
        "--workflow", "release.yml", "--user", "pat",
    )  # fmt: skip
    assert "pending" in added.stdout
    built = build_project(tmp_path, "fresh-pkg", "0.1")

    token = trade(index, lambda aud: github_token(issuer, aud, "octo/fresh", "release.yml", ""))
    result = index.twine_upload(token, built.wheel)

    assert result.returncode == 0, result.output
    shown = json.loads(index.bastion("users", "show", "pat", "--json").stdout)
    assert "fresh-pkg" in json.dumps(shown["projects"])
    assert requests.get(f"{index.simple_url}fresh-pkg/", timeout=10).status_code == 200


def test_a_refused_trade_says_which_claim_did_not_match(index, issuer):
    """A publisher that accepts release.yml only (its own project: tests may run apart)."""
    create_project(index, "wf-pkg", "wf-owner")
    index.bastion(
        "publishers", "add", "wf-pkg", "--github", "octo/wf-pkg", "--workflow", "release.yml",
    )  # fmt: skip
    audience = requests.get(f"{index.url}/_/oidc/audience", timeout=10).json()["audience"]

    response = requests.post(
        f"{index.url}/_/oidc/mint-token",
        json={"token": github_token(issuer, audience, "octo/wf-pkg", "ci.yml", "pypi")},
        timeout=10,
    )

    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["code"] == "invalid-workflow"
    assert "release.yml" in error["description"] and "ci.yml" in error["description"]


def test_real_attestations_upload_through_their_publisher_and_are_served(index, issuer, tmp_path):
    """The release of pypi-attestations 0.0.19 and the attestations its GitHub Actions workflow
    made (tests/publishing/assets), uploaded with twine upload --attestations."""
    create_project(index, "pypi-attestations", "pa-owner")
    dist = tmp_path / "dist" / GH_DIST
    dist.parent.mkdir()
    for name in (GH_DIST, f"{GH_DIST}.publish.attestation", f"{GH_DIST}.slsa.attestation"):
        shutil.copy(ASSETS / name, dist.parent / name)
    attested = sorted(dist.parent.iterdir())

    def upload_as(repository: str):
        token = trade(index, lambda aud: github_token(issuer, aud, repository, "release.yml", ""))
        return index.twine_upload(token, *attested, options=("--attestations",))

    index.bastion(
        "publishers", "add", "pypi-attestations", "--github", "octo/other",
        "--workflow", "release.yml",
    )  # fmt: skip
    other = upload_as("octo/other")
    original = dist.read_bytes()
    dist.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    index.bastion(
        "publishers", "add", "pypi-attestations", "--github", "trailofbits/pypi-attestations",
        "--workflow", "release.yml",
    )  # fmt: skip
    changed = upload_as("trailofbits/pypi-attestations")
    dist.write_bytes(original)
    accepted = upload_as("trailofbits/pypi-attestations")

    assert other.returncode != 0
    assert "not this upload's trusted publisher" in other.output
    assert changed.returncode != 0
    assert "subject does not match distribution digest" in changed.output
    assert accepted.returncode == 0, accepted.output
    page = requests.get(
        f"{index.simple_url}pypi-attestations/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=10,
    ).json()
    (entry,) = page["files"]
    assert entry["provenance"] == (
        f"{index.url}/integrity/pypi-attestations/0.0.19/{GH_DIST}/provenance"
    )
    served = requests.get(entry["provenance"], timeout=10)
    assert served.headers["Content-Type"] == "application/vnd.pypi.integrity.v1+json"
    (bundle,) = Provenance.model_validate_json(served.content).attestation_bundles
    assert len(bundle.attestations) == 2
    for attestation in bundle.attestations:
        attestation.verify(bundle.publisher, Distribution.from_file(dist), offline=True)
