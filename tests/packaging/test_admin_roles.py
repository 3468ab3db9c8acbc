"""Roles edited in the admin go through the gate and the owners' services: an administrator
cannot give a critical project a maintainer without 2FA past its enforcement date, nor take its
last owner away, and what is allowed is journalled (the serial moves) and recorded."""

import pytest
from django.urls import reverse

from bastion import authz
from bastion.authz import management
from bastion.events.models import SecurityEvent
from bastion.events.services import CLI
from bastion.packaging.models import JournalEntry, Project, Role, RoleName
from tests.web.test_admin import change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def critical(make_project, make_user, designate) -> Project:
    project = make_project("Widget", owners=[make_user("olivia")])
    designate("widget")  # enforced since yesterday
    return project


def url(project: Project) -> str:
    return reverse("admin:packaging_project_change", args=[project.pk])


def with_new_role(data: dict, user, role_name: str = RoleName.MAINTAINER) -> dict:
    """The change form's data with one more role row, as the inline's 'Add another' posts it."""
    index = int(data["roles-TOTAL_FORMS"])
    return data | {
        "roles-TOTAL_FORMS": str(index + 1),
        f"roles-{index}-user": user.pk,
        f"roles-{index}-role_name": role_name,
    }


def role_errors(page) -> list:
    formset = next(
        inline.formset
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is Role
    )
    return formset.non_form_errors().as_data()


def test_an_admin_cannot_add_a_maintainer_without_2fa_to_an_enforced_critical_project(
    admin_client, critical, make_user
):
    bob = make_user("bob")
    serial = Project.objects.get(pk=critical.pk).last_serial
    data = with_new_role(change_form_data(admin_client.get(url(critical))), bob)
    page = admin_client.post(url(critical), data)
    assert page.status_code == 200  # the form again, with the gate's refusal
    [error] = role_errors(page)
    assert error.code == authz.Code.TWO_FACTOR_REQUIRED
    assert not Role.objects.filter(project=critical, user=bob).exists()
    assert Project.objects.get(pk=critical.pk).last_serial == serial


def test_an_admin_adds_a_maintainer_with_2fa_through_the_owners_service(
    admin_client, admin_user, critical, make_user, enrol_totp
):
    bob = make_user("bob")
    enrol_totp(bob)
    serial = Project.objects.get(pk=critical.pk).last_serial
    data = with_new_role(change_form_data(admin_client.get(url(critical))), bob)
    response = admin_client.post(url(critical), data)
    assert response.status_code == 302, role_errors(response)
    assert Role.objects.get(project=critical, user=bob).role_name == RoleName.MAINTAINER
    entry = JournalEntry.objects.get(action="add Maintainer bob")
    assert entry.submitted_by == admin_user
    assert Project.objects.get(pk=critical.pk).last_serial >= entry.pk > serial
    event = SecurityEvent.objects.get(tag="role:add", project=critical)
    assert event.user == admin_user and event.additional["notified"] == ["bob", "olivia"]


def test_an_admin_cannot_remove_the_last_owner(admin_client, critical):
    data = change_form_data(admin_client.get(url(critical)))
    data["roles-0-DELETE"] = "on"
    page = admin_client.post(url(critical), data)
    [error] = role_errors(page)
    assert error.code == authz.Code.LAST_OWNER
    assert Role.objects.filter(project=critical, role_name=RoleName.OWNER).exists()


def test_granting_a_role_directly_is_an_administrators_action(critical, make_user, enrol_totp):
    olivia = Role.objects.get(project=critical).user
    bob = make_user("bob")
    enrol_totp(bob)
    enrol_totp(olivia)
    with pytest.raises(authz.Refused) as refused:  # an owner invites; only an admin grants
        management.grant_role(
            actor=authz.Actor(olivia), project=critical, user=bob,
            role_name=RoleName.MAINTAINER, origin=CLI,
        )  # fmt: skip
    assert refused.value.code == authz.Code.ADMIN_REQUIRED
    assert not Role.objects.filter(project=critical, user=bob).exists()
