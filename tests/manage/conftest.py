"""A small world for the management pages: a project with an owner, a maintainer and files."""

from dataclasses import dataclass

import pytest
from django.test import Client

from bastion.packaging.models import Project, Role, RoleName


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
def world(make_user, make_project) -> World:
    owner = make_user("olivia")
    maintainer = make_user("mario")
    project = make_project("Widget", owners=[owner], versions=["1.0", "2.0"])
    Role.objects.create(project=project, user=maintainer, role_name=RoleName.MAINTAINER)
    return World(project=project, owner=owner, maintainer=maintainer, stranger=make_user("sam"))


@pytest.fixture
def owner_client(world) -> Client:
    return world.client_for(world.owner)
