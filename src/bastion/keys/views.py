"""The key offer page in account settings: explain, show stock for a country, claim, show codes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from bastion.accounts.http import SignedInRequest
from bastion.events.services import Origin
from bastion.keys import services
from bastion.keys.countries import country_name
from bastion.keys.forms import ClaimForm, CountryForm
from bastion.keys.policy import Policy
from bastion.mfa.crypto import SecretUnreadable


def _claimed(user) -> list[dict]:
    """The account's codes, decrypted for it alone, with what it did since claiming."""
    shown = []
    for code in services.claimed_codes(user):
        try:
            plain = services.reveal(code, user)
        except SecretUnreadable:
            plain = None
        shown.append(
            {
                "code": plain,
                "vendor": code.vendor,
                "claimed_at": code.claimed_at,
                "country": country_name(code.country),
                # claimed_code_is_complete: the database keeps a claimed code's time.
                "key": services.key_registered_since(user, code.claimed_at),  # type: ignore[arg-type]
            }
        )
    return shown


def _page(request: SignedInRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    policy = Policy.from_environment()
    user = request.user
    country_form = CountryForm(request.GET if "country" in request.GET else None)
    country = country_form.cleaned_data["country"] if country_form.is_valid() else ""
    context = {
        "policy": policy,
        "phases": policy.started(services.today()),
        "decision": services.eligibility(user, policy=policy),
        "claimed": _claimed(user),
        "country_form": country_form,
        "country": country,
        "country_name": country_name(country) if country else "",
        "stock": services.stock(country) if country else [],
        "error": error,
        "register_path": services.REGISTER_KEY_PATH,
    }
    return render(request, "keys/offer.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def offer(request: SignedInRequest) -> HttpResponse:
    """GET explains the offer and the stock for a country; POST claims one code."""
    if request.method == "GET":
        return _page(request)
    form = ClaimForm(request.POST)
    if not form.is_valid():
        return _page(
            request, error="Choose the country your key ships to, then a vendor's code.", status=400
        )
    try:
        code = services.claim(
            request.user,
            country=form.cleaned_data["country"],
            vendor=form.cleaned_data["vendor"],
            origin=Origin.from_request(request),
        )
    except services.ClaimRefused as refused:
        return _page(request, error=refused.message, status=refused.status)
    messages.success(request, f"Your {code.vendor.name} code is below. Redeem it soon.")
    return redirect("keys:offer")
