"""Read-only views of accounts for the command line."""

from bastion.accounts.models import User
from bastion.critical.enforcement import critical_projects_of
from bastion.mfa.services import two_factor_summary


def _critical_projects(user: User) -> list[dict]:
    """The critical projects the user holds a role on, and when each one's mandate applies."""
    return [
        {"name": c.normalized_name, "enforcement_date": c.enforcement_date.isoformat()}
        for c in critical_projects_of(user)
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
