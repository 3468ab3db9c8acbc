import base64
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from bastion import authz
from bastion.packaging.models import File, Project, Release, Role
from bastion.tokens.services import create_token


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def stored_files() -> set[Path]:
    root = Path(settings.FILES_DIR)
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def index_state() -> tuple:
    """What an upload may change: rows that hold projects and files, and the stored bytes."""
    counts = [model.objects.count() for model in (Project, Role, Release, File)]
    return (*counts, frozenset(stored_files()))


@dataclass
class Uploader:
    """A client holding one API token, posting forms the way twine does."""

    client: Client
    user: object
    secret: str

    def upload(self, form: dict, *, path: str = "/legacy/", auth: str | None = None, **headers):
        authorization = auth if auth is not None else basic_auth("__token__", self.secret)
        if authorization:
            headers["HTTP_AUTHORIZATION"] = authorization
        before = index_state()
        response = self.client.post(path, form, **headers)
        response.state_before = before
        return response


@pytest.fixture(autouse=True)
def files_dir(settings, tmp_path):
    """A files directory of the test's own, so "nothing was stored" means exactly that."""
    settings.FILES_DIR = tmp_path / "files"
    return settings.FILES_DIR


@pytest.fixture
def refused():
    """Assert a refusal: status, a message in reason and body, and nothing written."""

    def check(response, status: int, message: str):
        reason = response.reason_phrase
        assert response.status_code == status, reason
        assert message in reason, reason
        assert message in response.content.decode()
        assert "\n" not in reason
        assert index_state() == response.state_before
        return reason

    return check


@pytest.fixture
def uploader(alice) -> Uploader:
    """Alice with a user-wide token: may create projects and upload to her own."""
    minted = create_token(actor=authz.Actor(alice), name="uploads")
    return Uploader(Client(), alice, minted.secret)


@pytest.fixture
def scoped_uploader(alice):
    """A token scoped to one of Alice's projects."""

    def make(project: Project) -> Uploader:
        minted = create_token(actor=authz.Actor(alice), name="scoped", project=project)
        return Uploader(Client(), alice, minted.secret)

    return make
