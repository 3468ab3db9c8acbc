"""A browser opening a form's address gets a page; API clients keep the bare 405."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_opening_a_form_address_gets_a_page_that_leads_back(client):
    """UI review finding: after a failed submission the address bar held a POST-only URL, and
    reloading it showed an empty 405, which Chromium reports as a broken page."""
    answer = client.get("/account/logout/", HTTP_ACCEPT=HTML)

    assert answer.status_code == 405
    assert answer["Allow"] == "POST"
    page = answer.content.decode()
    assert "<h1>Nothing to show here</h1>" in page and 'href="/"' in page
    assert answer["Content-Security-Policy"]


def test_other_clients_keep_the_bare_405():
    answer = Client().get("/account/logout/", HTTP_ACCEPT="application/json")

    assert (answer.status_code, answer.content, answer["Allow"]) == (405, b"", "POST")
