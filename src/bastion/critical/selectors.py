"""Read-only answers about critical projects: explanations, the list, adoption statistics, and
an account's standing (its factors and the critical projects it maintains) for ``bastion users
show``, which needs all three apps below this one."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, QuerySet

from bastion.accounts.models import User
from bastion.critical import enforcement
from bastion.critical.designation import reason_from_dict
from bastion.critical.models import Designation, StatsSnapshot
from bastion.downloads.services import recent_downloads
from bastion.mfa.models import TOTPDevice, WebAuthnCredential
from bastion.mfa.services import PASSKEY, TOTP, WEBAUTHN, two_factor_summary
from bastion.packaging.models import Dependency, File, Project, Role, UploadMethod
from bastion.packaging.services import normalize


def explain(name: str) -> dict:
    """Why a name is (or is no longer, or is not) critical, since when, and the enforcement date."""
    normalized = normalize(name)
    designation = Designation.objects.filter(normalized_name=normalized).first()
    project = Project.objects.filter(normalized_name=normalized).first()
    answer = {
        "name": normalized,
        "hosted": project is not None,
        "critical": bool(designation and designation.is_active),
    }
    if designation is None:
        return answer
    reason = reason_from_dict(designation.reason)
    answer.update(
        designated=designation.designated_at.date().isoformat(),
        enforcement_date=designation.enforcement_date.isoformat(),
        enforced=enforcement.is_enforced(designation),
        reason=reason.as_dict(),
        explanation=reason.describe(),
    )
    if not designation.is_active:
        answer["removed"] = {
            "when": designation.removed_at.date().isoformat(),
            "by": designation.removed_by.username if designation.removed_by else None,
            "reason": designation.removal_reason,
        }
    return answer


def two_factor_methods_by_user() -> dict[int, set[str]]:
    """Every user's confirmed factor kinds in two queries, instead of two per user.

    ``bastion.mfa.services.two_factor_methods`` answers for one user; statistics need everyone.
    """
    methods: dict[int, set[str]] = {}
    for user_id in TOTPDevice.objects.values_list("user_id", flat=True):
        methods.setdefault(user_id, set()).add(TOTP)
    for user_id, discoverable in WebAuthnCredential.objects.values_list("user_id", "discoverable"):
        methods.setdefault(user_id, set()).add(PASSKEY if discoverable else WEBAUTHN)
    return methods


def users_with_two_factor() -> set[int]:
    """The ids of every user with a confirmed second factor."""
    return set(two_factor_methods_by_user())


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def adoption() -> dict:
    """The numbers behind ``bastion stats`` and /stats/ (PyPI's 2022 dashboard, plus methods)."""
    critical = Designation.objects.active()
    hosted = Project.objects.filter(normalized_name__in=critical.values("normalized_name"))
    critical_users = set(
        Role.objects.filter(project__in=hosted).values_list("user_id", flat=True).distinct()
    )
    all_users = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
    critical_users &= all_users
    methods = two_factor_methods_by_user()
    by_method = Counter(m for user in critical_users for m in methods.get(user, ()))
    critical_with_2fa = sum(1 for user in critical_users if methods.get(user))
    others = all_users - critical_users
    others_with_2fa = sum(1 for user in others if methods.get(user))
    return {
        "critical_projects": critical.count(),
        "critical_projects_hosted": hosted.count(),
        "critical_accounts": len(critical_users),
        "critical_accounts_with_2fa": critical_with_2fa,
        "critical_accounts_2fa_share": _share(critical_with_2fa, len(critical_users)),
        "critical_accounts_by_method": {
            method: {
                "accounts": by_method[method],
                "share": _share(by_method[method], len(critical_users)),
            }
            for method in (TOTP, WEBAUTHN, PASSKEY)
        },
        "other_accounts": len(others),
        "other_accounts_with_2fa": others_with_2fa,
        "other_accounts_2fa_share": _share(others_with_2fa, len(others)),
        "uploads": upload_methods(critical),
    }


def _files_by_method(files: QuerySet[File]) -> dict:
    counts = dict(files.order_by().values_list("uploaded_via").annotate(Count("pk")))
    total = sum(counts.values())
    return {
        "files": total,
        "by_method": {
            method: {"files": counts.get(method, 0), "share": _share(counts.get(method, 0), total)}
            for method in UploadMethod.values
        },
    }


def upload_methods(critical: QuerySet[Designation]) -> dict:
    """Files by how their upload authenticated, on every project and on the hosted ``critical``
    ones: files, not releases or upload requests, counted in one grouped query each."""
    files = File.objects.all()
    on_critical = files.filter(
        release__project__normalized_name__in=critical.values("normalized_name")
    )
    return {
        "all_projects": _files_by_method(files),
        "critical_projects": _files_by_method(on_critical),
    }


def history() -> list[StatsSnapshot]:
    return list(StatsSnapshot.objects.order_by("day"))


def single_maintainer_projects() -> list[dict]:
    """Critical projects hosted here with only one person holding a role: the bus factor of 1."""
    hosted = (
        Project.objects.filter(
            normalized_name__in=Designation.objects.active().values("normalized_name")
        )
        .annotate(people=Count("roles"))
        .filter(people=1)
        .order_by("normalized_name")
    )
    roles = Role.objects.filter(project__in=hosted).select_related("user", "project")
    methods = two_factor_methods_by_user()
    return [
        {
            "name": role.project.name,
            "normalized_name": role.project.normalized_name,
            "maintainer": role.user.username,
            "role": role.role_name,
            "two_factor": sorted(methods.get(role.user_id, ())),
        }
        for role in sorted(roles, key=lambda r: r.project.normalized_name)
    ]


def json_api_fields(normalized_name: str) -> dict:
    """``critical`` and its dates for the JSON API's ``info`` (asked for in warehouse#11793)."""
    designation = enforcement.designation_of(normalized_name)
    if designation is None:
        return {"critical": False, "critical_since": None, "critical_enforcement_date": None}
    return {
        "critical": True,
        "critical_since": designation.designated_at.date().isoformat(),
        "critical_enforcement_date": designation.enforcement_date.isoformat(),
    }


def _critical_projects(user: User) -> list[dict]:
    """The critical projects the user holds a role on, and when each one's mandate applies."""
    return [
        {"name": c.normalized_name, "enforcement_date": c.enforcement_date.isoformat()}
        for c in enforcement.critical_projects_of(user)
    ]


def user_summary(username: str) -> dict | None:
    user = (
        User.objects.filter(username=username).prefetch_related("emails", "roles__project").first()
    )
    if user is None:
        return None
    primary = next((e for e in user.emails.all() if e.primary), None)
    return {
        "username": user.username,
        "email": primary.email if primary else None,
        "email_verified": bool(primary and primary.verified),
        "is_active": user.is_active,
        "is_admin": user.is_superuser,
        "date_joined": user.date_joined.isoformat(),
        "two_factor": two_factor_summary(user),
        "critical_projects": _critical_projects(user),
        "projects": sorted(
            ({"name": r.project.normalized_name, "role": r.role_name} for r in user.roles.all()),
            key=lambda p: p["name"],
        ),
    }


def what_would_break(project: Project) -> str:
    """The projects that require this one, and how often installers fetched it lately."""
    dependents = sorted(
        set(
            Dependency.objects.filter(name=project.normalized_name, extra_only=False)
            .exclude(release__project=project)
            .values_list("release__project__name", flat=True)
        )
    )
    shown = ", ".join(dependents[:10]) + (
        f" and {len(dependents) - 10} more" if len(dependents) > 10 else ""
    )
    required = (
        f"{len(dependents)} project(s) require it ({shown})"
        if dependents
        else "no project here requires it"
    )
    month = recent_downloads(project.normalized_name)["last_month"]
    return f"{required}, and installers downloaded it {month:,} times in the last 30 days"
