"""The offer page in account settings, the account page's pointer, and the admin pages."""

import pytest
from django.test import Client
from django.urls import reverse

from bastion.keys import services
from bastion.keys.models import PromoCode, Vendor
from tests.factories import enrol_totp
from tests.keys.conftest import give_key

pytestmark = pytest.mark.django_db

OFFER = "/manage/account/security-key/"


def client_for(user) -> Client:
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="pytest-browser/1.0")
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def default_policy(monkeypatch):
    for name in ("PHASES", "END_DATE", "PER_ACCOUNT", "REMINDER_DAYS"):
        monkeypatch.delenv(f"BASTION_KEYS_{name}", raising=False)


def test_the_critical_mail_links_to_the_offer_page():
    from bastion.critical.services import KEY_OFFER_PATH

    assert reverse("keys:offer") == KEY_OFFER_PATH == OFFER


def test_the_page_needs_a_login(client):
    response = client.get(OFFER)
    assert response.status_code == 302 and "/account/login/" in response.url


def test_an_eligible_account_chooses_a_country_and_sees_its_stock(critical_maintainer, stock):
    stock(2, vendor="titan", country="DE")
    stock(1, vendor="titan", country="")
    client = client_for(critical_maintainer())
    page = client.get(OFFER).content.decode()
    assert "maintainers of critical projects who do not use two-factor" in page
    assert '<label for="id_country">Country your key ships to</label>' in page
    assert "Claim a code from" not in page
    page = client.get(OFFER, {"country": "DE"}).content.decode()
    assert "Codes that can be used in Germany" in page
    assert "Claim a code from titan" in page and "3 left" in page
    page = client.get(OFFER, {"country": "JP"}).content.decode()
    assert "1 left" in page  # the any-country code


def test_claiming_shows_the_code_with_the_vendor_s_instructions(critical_maintainer, stock):
    (code,) = stock(1, vendor="titan", country="US")
    Vendor.objects.filter(slug="titan").update(
        name="Google Titan",
        redeem_url="https://store.example/titan",
        instructions="Add two keys to the cart, then enter the code.",
    )
    client = client_for(critical_maintainer())
    response = client.post(OFFER, {"country": "US", "vendor": "titan"})
    assert response.status_code == 302 and response.url == OFFER
    page = client.get(OFFER)
    assert page["Cache-Control"].startswith("max-age=0")
    content = page.content.decode()
    assert f'value="{code}"' in content
    assert "Your Google Titan code" in content
    assert "Add two keys to the cart" in content and "https://store.example/titan" in content
    assert 'href="/manage/account/two-factor/webauthn/"' in content
    assert "Claim a code from" not in content


def test_the_page_thanks_a_claimer_who_registered_a_key(critical_maintainer, stock):
    stock(1)
    user = critical_maintainer()
    services.claim(user, country="US")
    key = give_key(user)
    content = client_for(user).get(OFFER).content.decode()
    assert f"You registered “{key.label}”" in content
    assert "Register your security key" not in content


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (enrol_totp, "You already use two-factor authentication."),
        (give_key, "You already use two-factor authentication."),
    ],
)
def test_an_ineligible_account_sees_why_and_its_claim_is_refused(
    critical_maintainer, stock, setup, message
):
    stock(1)
    user = critical_maintainer()
    setup(user)
    client = client_for(user)
    assert message in client.get(OFFER).content.decode()
    response = client.post(OFFER, {"country": "US", "vendor": "titan"})
    assert response.status_code == 403
    assert message in response.content.decode()
    assert not PromoCode.objects.filter(claimed_by=user).exists()


def test_a_stranger_is_told_the_offer_is_for_critical_maintainers(make_user, stock):
    stock(1)
    client = client_for(make_user("stranger"))
    response = client.post(OFFER, {"country": "US", "vendor": "titan"})
    assert response.status_code == 403
    assert "you do not maintain one" in response.content.decode()


def test_a_second_claim_is_refused_on_the_page(critical_maintainer, stock):
    stock(2)
    client = client_for(critical_maintainer())
    client.post(OFFER, {"country": "US", "vendor": "titan"})
    response = client.post(OFFER, {"country": "US", "vendor": "titan"})
    assert response.status_code == 403
    assert "You have already claimed your security key code." in response.content.decode()
    assert PromoCode.objects.filter(claimed_by__isnull=False).count() == 1


def test_a_claim_after_the_end_date_is_refused_on_the_page(critical_maintainer, stock, monkeypatch):
    stock(1)
    monkeypatch.setenv("BASTION_KEYS_END_DATE", "2020-01-01")
    client = client_for(critical_maintainer())
    assert "The security key offer closed on 2020-01-01." in client.get(OFFER).content.decode()
    response = client.post(OFFER, {"country": "US", "vendor": "titan"})
    assert response.status_code == 403
    assert "The security key offer closed on 2020-01-01." in response.content.decode()


def test_a_country_with_no_stock_is_refused_on_the_page(critical_maintainer, stock):
    stock(1, country="US")
    client = client_for(critical_maintainer())
    shown = client.get(OFFER, {"country": "FR"}).content.decode()
    assert "There are no codes left for France." in shown
    response = client.post(OFFER, {"country": "FR", "vendor": "titan"})
    assert response.status_code == 409
    assert "There are no titan codes left for France." in response.content.decode()


def test_a_claim_without_a_country_is_a_400(critical_maintainer, stock):
    stock(1)
    response = client_for(critical_maintainer()).post(OFFER, {"vendor": "titan"})
    assert response.status_code == 400
    assert "Choose the country your key ships to, then a vendor" in response.content.decode()


def test_the_claim_needs_the_csrf_token(critical_maintainer, stock):
    stock(1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(critical_maintainer())
    assert client.post(OFFER, {"country": "US", "vendor": "titan"}).status_code == 403
    assert not PromoCode.objects.filter(claimed_by__isnull=False).exists()


def test_the_account_page_points_eligible_accounts_and_claimers_to_the_offer(
    critical_maintainer, make_user, stock
):
    stock(1)
    user = critical_maintainer()
    client = client_for(user)
    assert "Claim a security key" in client.get("/manage/account/").content.decode()
    services.claim(user, country="US")
    assert "See your code" in client.get("/manage/account/").content.decode()
    stranger = client_for(make_user("stranger")).get("/manage/account/").content.decode()
    assert "security-key" not in stranger


def test_admin_lists_codes_without_ever_showing_one(admin_client, critical_maintainer, stock):
    codes = stock(3, country="US", batch="july")
    claimed = services.claim(critical_maintainer(), country="US")
    listing = admin_client.get(reverse("admin:keys_promocode_changelist"))
    assert listing.status_code == 200
    content = listing.content.decode()
    assert "july" in content and "maint" in content
    detail = admin_client.get(reverse("admin:keys_promocode_change", args=[claimed.pk]))
    assert detail.status_code == 200
    for page in (content, detail.content.decode()):
        assert not any(code in page for code in codes)
        assert claimed.encrypted_code not in page and claimed.digest not in page


def test_admin_report_page(admin_client, critical_maintainer, stock):
    stock(2, vendor="titan", country="US")
    user = critical_maintainer()
    services.claim(user, country="US")
    give_key(user)
    page = admin_client.get(reverse("admin:keys_report"))
    assert page.status_code == 200
    content = page.content.decode()
    assert "<strong>1</strong> of 1 claimer registered a security key after claiming (100%)" in (
        content
    )
    assert "United States (US)" in content and "1 of 2 left" in content


def test_admin_cannot_delete_a_claimed_code(admin_client, critical_maintainer, stock):
    stock(2)
    claimed = services.claim(critical_maintainer(), country="US")
    response = admin_client.get(reverse("admin:keys_promocode_delete", args=[claimed.pk]))
    assert response.status_code == 403


def test_the_claim_shows_in_the_security_history_without_the_code(critical_maintainer, stock):
    codes = stock(1, vendor="titan", country="US")
    client = client_for(critical_maintainer())
    client.post(OFFER, {"country": "US", "vendor": "titan"})
    history = client.get("/manage/account/security/").content.decode()
    assert "Security key promo code claimed" in history and "203.0.113.9" in history
    assert codes[0] not in history
