"""The Django admin for operators: users, projects, tokens and the read-only security log."""

import pytest
from django.test import Client
from django.urls import reverse

from bastion.events.models import SecurityEvent
from bastion.packaging import authz
from bastion.tokens.models import APIToken
from bastion.tokens.services import authenticate, create_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("root", admin=True))
    return client


def test_user_page_shows_emails_inline_and_events(admin_client, world):
    SecurityEvent.objects.create(
        tag="account:login:success", user=world.owner, ip_address="192.0.2.5"
    )
    page = admin_client.get(reverse("admin:accounts_user_change", args=[world.owner.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert "olivia@example.com" in content and 'name="emails-0-verified"' in content
    assert "account:login:success" in content and "192.0.2.5" in content


def test_admin_verifies_an_email_inline(admin_client, world):
    email = world.stranger.emails.get()
    email.verified = False
    email.save()
    url = reverse("admin:accounts_user_change", args=[world.stranger.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update(
        {
            "username": "sam",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "is_active": "on",
            "emails-TOTAL_FORMS": "1",
            "emails-INITIAL_FORMS": "1",
            "emails-0-id": str(email.pk),
            "emails-0-user": str(world.stranger.pk),
            "emails-0-email": email.email,
            "emails-0-primary": "on",
            "emails-0-verified": "on",
            "security_events-TOTAL_FORMS": "0",
            "security_events-INITIAL_FORMS": "0",
        }
    )
    data.pop("password", None)
    data.pop("groups", None)
    data.pop("user_permissions", None)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    email.refresh_from_db()
    assert email.verified


def test_admin_disables_users(admin_client, world):
    url = reverse("admin:accounts_user_changelist")
    admin_client.post(url, {"action": "disable_users", "_selected_action": [world.stranger.pk]})
    world.stranger.refresh_from_db()
    assert not world.stranger.is_active


def test_project_page_shows_roles_status_and_2fa_setting(admin_client, world):
    content = admin_client.get(
        reverse("admin:packaging_project_change", args=[world.project.pk])
    ).content.decode()
    assert 'name="roles-0-role_name"' in content
    assert 'name="status"' in content and 'name="requires_two_factor"' in content


def test_token_admin_never_shows_the_digest_and_revokes(admin_client, world):
    minted = create_token(actor=authz.Actor(world.owner), name="ci")
    listing = admin_client.get(reverse("admin:tokens_apitoken_changelist")).content.decode()
    detail = admin_client.get(
        reverse("admin:tokens_apitoken_change", args=[minted.token.pk])
    ).content.decode()
    for page in (listing, detail):
        assert minted.token.digest not in page and minted.secret not in page
    assert admin_client.get(reverse("admin:tokens_apitoken_add")).status_code == 403
    admin_client.post(
        reverse("admin:tokens_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [minted.token.pk]},
    )
    assert authenticate(minted.secret) is None
    assert APIToken.objects.get().revoked is not None
    assert SecurityEvent.objects.filter(tag="token:revoke").exists()


def test_security_events_are_read_only(admin_client, world):
    event = SecurityEvent.objects.create(tag="token:use", user=world.owner)
    assert admin_client.get(reverse("admin:events_securityevent_changelist")).status_code == 200
    change = reverse("admin:events_securityevent_change", args=[event.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"tag": "forged"}).status_code == 403
    delete = reverse("admin:events_securityevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:events_securityevent_add")).status_code == 403
    event.refresh_from_db()
    assert event.tag == "token:use"


def change_form_data(page) -> dict:
    """Everything the admin's change form would post back unchanged, inlines included."""
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        for form in formset.forms:
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if value is not None and value is not False:
                    data[form.add_prefix(name)] = getattr(value, "pk", value)
    return data


def test_removing_a_role_inline_is_a_security_event(admin_client, world):
    url = reverse("admin:packaging_project_change", args=[world.project.pk])
    data = change_form_data(admin_client.get(url))
    maintainer_form = next(
        key.removesuffix("-user") for key, value in data.items()
        if key.startswith("roles-") and key.endswith("-user") and value == world.maintainer.pk
    )  # fmt: skip
    data[f"{maintainer_form}-DELETE"] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert not world.project.roles.filter(user=world.maintainer).exists()
    event = SecurityEvent.objects.get(tag="role:remove")  # the owners' service, by the admin
    assert event.project == world.project and event.user.is_superuser
    assert (event.additional["username"], event.additional["role"]) == ("mario", "Maintainer")
