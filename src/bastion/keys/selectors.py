"""The program's report: stock left, claims per day, and whether claimers registered a key.

The last number is the one that says whether the program worked: a key in a drawer protects
nobody. It counts claimers who registered a security key (or a passkey) at or after their first
claim. The report never contains a code.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min, Q
from django.db.models.functions import TruncDate

from bastion.keys.countries import country_name
from bastion.keys.models import PromoCode
from bastion.mfa.models import WebAuthnCredential


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def stock_by_vendor_and_country() -> list[dict]:
    rows = (
        PromoCode.objects.values("vendor__slug", "vendor__name", "country")
        .annotate(total=Count("id"), left=Count("id", filter=Q(claimed_by__isnull=True)))
        .order_by("vendor__name", "country")
    )
    return [
        {
            "vendor": row["vendor__slug"],
            "vendor_name": row["vendor__name"],
            "country": row["country"],
            "country_name": country_name(row["country"]),
            "total": row["total"],
            "claimed": row["total"] - row["left"],
            "left": row["left"],
        }
        for row in rows
    ]


def claims_per_day() -> list[dict]:
    rows = (
        PromoCode.objects.filter(claimed_at__isnull=False)
        .annotate(day=TruncDate("claimed_at"))
        .values("day")
        .annotate(claims=Count("id"))
        .order_by("day")
    )
    return [{"day": row["day"].isoformat(), "claims": row["claims"]} for row in rows]


def key_registration() -> dict:
    """How many claimers registered a security key after claiming, and their share."""
    first_claim: dict[int, datetime] = dict(
        PromoCode.objects.filter(claimed_by__isnull=False)
        .values_list("claimed_by")
        .annotate(first=Min("claimed_at"))
        .order_by()
    )
    registered = {
        user_id
        for user_id, created in WebAuthnCredential.objects.filter(
            user_id__in=list(first_claim)
        ).values_list("user_id", "created")
        if created >= first_claim[user_id]
    }
    reminded = PromoCode.objects.filter(reminder_sent_at__isnull=False).count()
    return {
        "claimers": len(first_claim),
        "claimers_with_key": len(registered),
        "registered_share": _share(len(registered), len(first_claim)),
        "reminders_sent": reminded,
    }


def report() -> dict:
    """What ``bastion keys report --json`` prints and the admin report page shows."""
    stock = stock_by_vendor_and_country()
    return {
        "codes": stock,
        "codes_total": sum(row["total"] for row in stock),
        "codes_left": sum(row["left"] for row in stock),
        "claims_per_day": claims_per_day(),
        **key_registration(),
    }
