"""The public statistics page and the admins' bus-factor list."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from bastion.critical import charts, selectors
from bastion.critical.policy import Policy
from bastion.publishing.attestations import attestation_shares
from bastion.upstream.selectors import MOST_INSTALLED_DAYS, most_installed


def stats_page(request: HttpRequest) -> HttpResponse:
    """/stats/: critical projects and accounts, 2FA adoption by method, and its history."""
    numbers = selectors.adoption()
    by_method = numbers["critical_accounts_by_method"]
    context = {
        "numbers": numbers,
        "critical_share": f"{numbers['critical_accounts_2fa_share']:.1%}",
        "other_share": f"{numbers['other_accounts_2fa_share']:.1%}",
        "methods": [
            (label, by_method[key]["accounts"], f"{by_method[key]['share']:.1%}")
            for label, key in [
                ("Authenticator app (TOTP)", "totp"),
                ("Security key", "webauthn"),
                ("Passkey", "passkey"),
            ]
        ],
        "top_percent": Policy.from_environment().top_percent,
        # Built from numbers and ISO dates only (see charts.py), so it is safe as markup.
        "chart": mark_safe(charts.adoption_chart(selectors.history())),  # noqa: S308
        "upstream_most_installed": most_installed(),
        "upstream_days": MOST_INSTALLED_DAYS,
        "attestations": _attestation_rows(),
    }
    return render(request, "critical/stats.html", context)


def _attestation_rows() -> list[tuple[str, int, int, str]]:
    """The share of files with PEP 740 attestations: (scope, files, attested, share)."""
    shares = attestation_shares()
    return [
        (label, shares[key]["files"], shares[key]["attested"], f"{shares[key]['share']:.1%}")
        for label, key in [("All projects", "all"), ("Critical projects", "critical")]
    ]
