"""``{% account_nav %}``: the one sidebar of every account page, with the account's state.

It shows where each part of the account lives and, at a glance, how the account is protected:
the two-factor methods enrolled and the recovery codes left, and the security key offer while
the account can claim (or has claimed) a key.
"""

from django import template
from django.urls import reverse

from bastion.keys import services as keys
from bastion.mfa import services as mfa

register = template.Library()


def _two_factor_state(user) -> str:
    """E.g. "Off", or "On: authenticator app, 2 security keys · 9 recovery codes left"."""
    summary = mfa.two_factor_summary(user)
    methods = []
    if summary["totp"]:
        methods.append("authenticator app")
    for count, one in [
        (summary["webauthn_keys"], "security key"),
        (summary["passkeys"], "passkey"),
    ]:
        if count:
            methods.append(one if count == 1 else f"{count} {one}s")
    if not methods:
        return "Off"
    left = summary["recovery_codes_left"]
    codes = f"{left} recovery code{'' if left == 1 else 's'} left"
    return f"On: {', '.join(methods)} · {codes}"


def _key_offer_shown(user) -> bool:
    return bool(keys.claimed_codes(user)) or keys.eligibility(user).eligible


def _current(path: str, items: list[dict]) -> str:
    """The item whose address is the longest prefix of ``path`` (the account page otherwise)."""
    matching = [item for item in items if path.startswith(item["url"])]
    return max(matching, key=lambda item: len(item["url"]))["key"] if matching else ""


@register.inclusion_tag("web/_account_nav.html", takes_context=True)
def account_nav(context) -> dict:
    request = context["request"]
    user = request.user
    if not user.is_authenticated:
        return {"items": []}
    items = [
        {"key": "account", "url": reverse("accounts:account"), "label": "Account",
         "state": "Profile, email addresses, password"},
        {"key": "two-factor", "url": reverse("mfa:manage"), "label": "Two-factor authentication",
         "state": _two_factor_state(user)},
        {"key": "tokens", "url": reverse("tokens"), "label": "API tokens", "state": ""},
        {"key": "publishers", "url": reverse("pending_publishers"),
         "label": "Trusted publishers", "state": "Publish from CI without a token"},
    ]  # fmt: skip
    if _key_offer_shown(user):
        items.append(
            {"key": "key-offer", "url": keys.OFFER_PATH, "label": "Security key offer", "state": ""}
        )
    items.append(
        {"key": "security", "url": reverse("account_history"), "label": "Security history",
         "state": ""}
    )  # fmt: skip
    current = _current(request.path, items)
    return {"items": [{**item, "current": item["key"] == current} for item in items]}
