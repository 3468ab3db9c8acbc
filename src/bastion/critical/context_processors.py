"""The banner every page shows to a maintainer of a critical project who has no second factor."""

from django.utils.functional import SimpleLazyObject

from bastion.critical import enforcement


def _banner(user) -> list[dict]:
    return [
        {
            "name": name,
            "enforcement_date": designation.enforcement_date,
            "enforced": enforcement.is_enforced(designation),
        }
        for name, designation in enforcement.unprotected_designations(user)
    ]


def mandate_banner(request) -> dict:
    """``critical_banner``: evaluated only when a template shows it, so other pages pay nothing."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "critical_banner": SimpleLazyObject(lambda: _banner(user)),
        "two_factor_path": enforcement.TWO_FACTOR_PATH,
    }
