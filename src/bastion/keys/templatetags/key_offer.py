"""``{% key_offer_notice user %}``: the account page's pointer to the key offer, when it applies."""

from django import template

from bastion.keys import services

register = template.Library()


@register.inclusion_tag("keys/_notice.html")
def key_offer_notice(user) -> dict:
    """Shown to claimers (where their code is) and to eligible accounts; hidden otherwise."""
    claimed = bool(services.claimed_codes(user))
    eligible = not claimed and services.eligibility(user).eligible
    return {"claimed": claimed, "eligible": eligible, "offer_path": services.OFFER_PATH}
