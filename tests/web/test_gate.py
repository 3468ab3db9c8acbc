"""The site's 403 page for a form the CSRF check refused, not Django's bare one."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_form_sent_without_its_cookie_gets_the_sites_page_and_a_way_back():
    """UI review finding: Django's default page, unstyled, with an inline style the CSP blocks
    and no way back to the form."""
    browser = Client(enforce_csrf_checks=True)

    answer = browser.post("/account/login/", {"username": "a", "password": "b"})

    assert answer.status_code == 403
    page = answer.content.decode()
    assert "<h1>Not allowed</h1>" in page and "Open the page again" in page
    assert 'href="/account/login/"' in page
    assert "<style" not in page


def test_the_403_page_shows_the_gates_code_and_a_fix_for_a_missing_role(make_project, make_user):
    """Gate review finding: the page never showed the refusal's code, and a refusal for a
    missing role had no fix link (the project page lists whom to ask)."""
    make_project("widget")
    mallory = make_user("mallory")
    browser = Client()
    browser.force_login(mallory)

    answer = browser.get("/manage/project/widget/")

    assert answer.status_code == 403
    page = answer.content.decode()
    assert "Code: <code>role_required</code>" in page
    assert 'href="/project/widget/"' in page and "Fix this" in page
