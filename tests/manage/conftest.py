"""A small world for the management pages: a project with an owner, a maintainer and files."""

import hashlib
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone
from packaging.utils import canonicalize_version
from packaging.version import Version

from bastion.packaging import storage
from bastion.packaging.models import File, FilenameReservation, Project, Release, Role, RoleName
from bastion.packaging.services import normalize


def add_release(project: Project, version: str, *filenames: str, **metadata) -> Release:
    """A release with real stored bytes, as an upload would leave it."""
    release = Release.objects.create(
        project=project,
        version=version,
        canonical_version=canonicalize_version(version),
        is_prerelease=Version(version).is_prerelease,
        metadata_version="2.4",
        **metadata,
    )
    for filename in filenames or (f"{project.normalized_name}-{version}.tar.gz",):
        content = f"{filename} bytes".encode()
        blake2 = hashlib.blake2b(content, digest_size=32).hexdigest()
        key = storage.key_for(blake2, filename)
        storage.store_bytes(key, content)
        File.objects.create(
            release=release,
            filename=filename,
            packagetype="sdist" if filename.endswith(".tar.gz") else "bdist_wheel",
            python_version="source" if filename.endswith(".tar.gz") else "py3",
            size=len(content),
            sha256_digest=hashlib.sha256(content).hexdigest(),
            blake2_256_digest=blake2,
            md5_digest=hashlib.md5(content).hexdigest(),  # noqa: S324 - PyPI's legacy field
            path=key,
            upload_time=timezone.now(),
        )
        FilenameReservation.objects.create(filename=filename, project_name=project.normalized_name)
    return release


@dataclass
class World:
    project: Project
    owner: object
    maintainer: object
    stranger: object

    def client_for(self, user) -> Client:
        client = Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest-browser/1.0")
        client.force_login(user)
        return client


@pytest.fixture
def make_project():
    def make(name: str, owner, *versions: str) -> Project:
        project = Project.objects.create(name=name, normalized_name=normalize(name))
        Role.objects.create(project=project, user=owner, role_name=RoleName.OWNER)
        for version in versions:
            add_release(project, version)
        return project

    return make


@pytest.fixture
def world(make_user, make_project) -> World:
    owner = make_user("olivia")
    maintainer = make_user("mario")
    project = make_project("Widget", owner, "1.0", "2.0")
    Role.objects.create(project=project, user=maintainer, role_name=RoleName.MAINTAINER)
    return World(project=project, owner=owner, maintainer=maintainer, stranger=make_user("sam"))


@pytest.fixture
def owner_client(world) -> Client:
    return world.client_for(world.owner)
