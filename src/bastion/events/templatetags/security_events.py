"""How a security event reads on the history pages: a sentence, then its details."""

from django import template

register = template.Library()

LABELS = {
    "account:create": "Account created",
    "account:invite": "Invitation to register sent",
    "account:login:success": "Logged in",
    "account:login:failure": "Failed login",
    "account:logout": "Logged out",
    "account:email:add": "Email address added",
    "account:email:remove": "Email address removed",
    "account:email:verified": "Email address verified",
    "account:email:primary:change": "Primary email address changed",
    "account:password:change": "Password changed",
    "account:password:reset": "Password reset",
    "account:password:reset:request": "Password reset requested",
    "account:two_factor:method_added": "Two-factor method added",
    "account:two_factor:method_removed": "Two-factor method removed",
    "account:recovery_codes:generated": "Recovery codes generated",
    "account:recovery_codes:regenerated": "Recovery codes regenerated",
    "account:recovery_codes:used": "Recovery code used",
    "account:security_key:claim": "Security key promo code claimed",
    "project:create": "Project created",
    "token:create": "API token created",
    "token:use": "API token used",
    "token:revoke": "API token revoked",
    "role:invite": "Role invitation sent",
    "role:add": "Role invitation accepted",
    "role:decline_invite": "Role invitation declined",
    "role:revoke_invite": "Role invitation withdrawn",
    "role:remove": "Role removed",
    "role:change": "Role changed",
    "admin:change": "Changed by an administrator",
    "release:yank": "Release yanked",
    "release:unyank": "Release unyanked",
    "release:remove": "Release deleted",
    "file:remove": "File deleted",
    "file:upload": "File uploaded",
    "require_2fa:enabled": "2FA required for every maintainer",
    "require_2fa:disabled": "2FA no longer required for every maintainer",
}


@register.filter
def event_label(tag: str) -> str:
    """A sentence for known tags; unknown ones (from apps added later) show their tag."""
    return LABELS.get(tag, tag.replace(":", " ").replace("_", " ").capitalize())


@register.filter
def event_details(additional: dict) -> list[tuple[str, str]]:
    """The event's extra fields as readable pairs; lists are joined."""
    pairs = []
    for key, value in sorted((additional or {}).items()):
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if shown:
            pairs.append((key.replace("_", " "), shown))
    return pairs
