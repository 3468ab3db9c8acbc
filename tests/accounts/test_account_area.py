"""The account area: one sidebar on every account page, and the call to add a second factor."""

import re

import pytest

from bastion.packaging.models import Role, RoleName

ACCOUNT_PAGES = {
    "/manage/account/": "Account",
    "/manage/account/two-factor/": "Two-factor authentication",
    "/manage/account/two-factor/totp/": "Two-factor authentication",
    "/manage/account/two-factor/webauthn/": "Two-factor authentication",
    "/manage/account/tokens/": "API tokens",
    "/manage/account/publishing/": "Trusted publishers",
    "/manage/account/security/": "Security history",
}
NAV = re.compile(r'<nav class="account-nav" aria-label="Account">(.*?)</nav>', re.S)


def sidebar(response) -> str:
    assert response.status_code == 200, response.status_code
    found = NAV.findall(response.content.decode())
    assert len(found) == 1, "exactly one account sidebar"
    return found[0]


@pytest.fixture
def critical_maintainer(member, make_project, designate):
    project = make_project("Requests", owners=[member], versions=["2.0"])
    return designate(project.normalized_name, enforced=False), project


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "current"), ACCOUNT_PAGES.items())
def test_every_account_page_has_the_sidebar_with_its_own_entry_current(logged_in, path, current):
    nav = sidebar(logged_in.get(path))
    for link in (
        "/manage/account/",
        "/manage/account/two-factor/",
        "/manage/account/tokens/",
        "/manage/account/publishing/",
        "/manage/account/security/",
    ):
        assert f'href="{link}"' in nav
    assert re.search(rf'aria-current="page">{current}</a>', nav), nav
    assert nav.count('aria-current="page"') == 1


@pytest.mark.django_db
def test_the_sidebar_shows_two_factor_off_then_methods_and_recovery_codes_left(
    logged_in,
    member,
    enrol_totp,
):
    assert "Off" in sidebar(logged_in.get("/manage/account/"))
    enrol_totp(member)
    nav = sidebar(logged_in.get("/manage/account/"))
    assert "On: authenticator app · 10 recovery codes left" in nav


@pytest.mark.django_db
def test_an_account_without_a_second_factor_is_asked_to_add_one(logged_in):
    page = logged_in.get("/manage/account/").content.decode()
    assert "Protect your account with two-factor authentication" in page
    assert 'href="/manage/account/two-factor/totp/"' in page
    assert 'href="/manage/account/two-factor/webauthn/"' in page
    assert "You must turn on two-factor authentication" not in page


@pytest.mark.django_db
def test_an_account_with_a_second_factor_is_not_asked(logged_in, member, enrol_totp):
    enrol_totp(member)
    page = logged_in.get("/manage/account/").content.decode()
    assert "Protect your account" not in page
    assert "You must turn on two-factor" not in page


@pytest.mark.django_db
def test_a_critical_maintainer_without_2fa_is_told_firmly_with_the_enforcement_date(
    logged_in, critical_maintainer
):
    designation, project = critical_maintainer
    page = logged_in.get("/manage/account/").content.decode()
    assert "You must turn on two-factor authentication" in page
    assert "cta critical" in page
    assert project.name in page
    assert designation.enforcement_date.isoformat() in page
    assert "Protect your account with" not in page


@pytest.mark.django_db
def test_the_key_offer_is_in_the_sidebar_only_when_the_account_is_eligible(
    logged_in, member, make_project, designate
):  # fmt: skip
    assert "Security key offer" not in sidebar(logged_in.get("/manage/account/"))
    project = make_project("Requests", owners=[member], versions=["2.0"])
    designate(project.normalized_name)
    nav = sidebar(logged_in.get("/manage/account/"))
    assert '<a href="/manage/account/security-key/">Security key offer</a>' in nav
    assert "Security key offer" in sidebar(logged_in.get("/manage/account/tokens/"))


@pytest.mark.django_db
def test_a_maintainer_role_also_counts_for_the_critical_call_to_action(
    client, make_user, member, make_project, designate
):  # fmt: skip
    project = make_project("Requests", owners=[member], versions=["2.0"])
    designate(project.normalized_name)
    mario = make_user("mario")
    Role.objects.create(project=project, user=mario, role_name=RoleName.MAINTAINER)
    client.force_login(mario)
    page = client.get("/manage/account/").content.decode()
    assert "You must turn on two-factor authentication" in page
