"""Every management URL of a project refuses anyone who is not its owner, for GET and POST alike.

The page must be the gate's 403 with its reason, and nothing may change.
"""

import pytest
from django.test import Client
from django.urls import reverse

from bastion.packaging.models import Release, Role, RoleInvitation, RoleName
from bastion.packaging.services import get_project

pytestmark = pytest.mark.django_db


def management_urls(world) -> list[str]:
    project = world.project
    name = project.normalized_name
    role = Role.objects.get(project=project, user=world.owner)
    invitation = RoleInvitation.objects.create(
        project=project,
        invitee=world.stranger,
        invited_by=world.owner,
        role_name=RoleName.OWNER,
        expires="2999-01-01T00:00:00Z",
    )
    release = {"name": name, "version": "1.0"}
    return [
        reverse("manage_project", args=[name]),
        reverse("manage_release", kwargs=release),
        reverse("yank_release", kwargs=release),
        reverse("unyank_release", kwargs=release),
        reverse("delete_release", kwargs=release),
        reverse("delete_file", kwargs=release),
        reverse("manage_roles", args=[name]),
        reverse("remove_role", args=[name, role.pk]),
        reverse("change_role", args=[name, role.pk]),
        reverse("revoke_invitation", args=[name, invitation.pk]),
        reverse("project_settings", args=[name]),
        reverse("project_history", args=[name]),
    ]


#: POST bodies that an owner's request would act on, so a missing check would show.
HOSTILE_POST = {
    "reason": "hostile",
    "confirm": "1.0",
    "filename": "widget-1.0.tar.gz",
    "username": "sam",
    "role_name": "Owner",
    "requires_two_factor": "on",
}


@pytest.mark.parametrize("who", ["stranger", "maintainer"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_non_owner_gets_403_on_every_management_url(world, who, method):
    client = world.client_for(getattr(world, who))
    urls = management_urls(world)
    assert len(urls) == 12
    for url in urls:
        response = getattr(client, method)(url, HOSTILE_POST if method == "post" else None)
        assert response.status_code == 403, (method, url, response.status_code)
        assert b"isn&#x27;t allowed to" in response.content, url
    project = get_project("widget")
    assert Release.objects.filter(project=project).count() == 2
    assert not Release.objects.filter(yanked=True).exists()
    assert Role.objects.filter(project=project).count() == 2
    assert Role.objects.get(project=project, user=world.owner).role_name == RoleName.OWNER
    assert RoleInvitation.objects.filter(project=project).count() == 1
    assert not project.requires_two_factor


def test_owner_passes_the_gate_on_the_same_urls(world, owner_client):
    for url in management_urls(world):
        assert owner_client.get(url).status_code in (200, 405), url


def test_anonymous_visitor_is_sent_to_log_in(world):
    client = Client()
    for url in [*management_urls(world), "/manage/projects/", "/manage/account/tokens/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/account/login/?next="), url


def test_unknown_project_is_404_not_403(world):
    client = world.client_for(world.stranger)
    assert client.get("/manage/project/no-such-project/").status_code == 404


def test_owner_without_verified_email_is_refused_with_a_fix(world, owner_client):
    world.owner.emails.update(verified=False)
    response = owner_client.get(reverse("manage_roles", args=["widget"]))
    assert response.status_code == 403
    assert b"verified primary email" in response.content
    assert b'href="/manage/account/"' in response.content
