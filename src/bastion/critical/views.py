"""The public statistics page and the admins' bus-factor list."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from bastion.critical import charts, selectors
from bastion.critical.policy import Policy
from bastion.packaging.models import UploadMethod
from bastion.publishing.attestations import attestation_shares
from bastion.upstream.selectors import MOST_INSTALLED_DAYS, most_installed

_UPLOAD_GROUPS = ("all_projects", "critical_projects")


def _upload_method_rows(uploads: dict) -> list[tuple[str, str, str]]:
    """One row per method: its label, then files and share on all and on critical projects.
    "Not recorded" appears only while some file's method is unknown."""
    rows = []
    for method in UploadMethod:
        counts = [uploads[group]["by_method"][method] for group in _UPLOAD_GROUPS]
        if method == UploadMethod.UNKNOWN and not any(count["files"] for count in counts):
            continue
        cells = [f"{count['files']} ({count['share']:.1%})" for count in counts]
        rows.append((method.label, cells[0], cells[1]))
    return rows


def stats_page(request: HttpRequest) -> HttpResponse:
    """/stats/: critical projects and accounts, 2FA adoption by method, and its history; how
    files were uploaded."""
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
        "uploads": numbers["uploads"],
        "upload_methods": _upload_method_rows(numbers["uploads"]),
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
