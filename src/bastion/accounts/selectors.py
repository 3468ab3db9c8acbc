"""Read-only views of accounts, shared by the CLI and (later) the web UI."""

from bastion.accounts.models import User
from bastion.mfa.services import two_factor_summary


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
        "projects": sorted(
            ({"name": r.project.normalized_name, "role": r.role_name} for r in user.roles.all()),
            key=lambda p: p["name"],
        ),
    }
