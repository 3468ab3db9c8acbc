"""How a security event reads on the history pages: a sentence, then its details."""

from django import template

register = template.Library()

LABELS = {
    "account:create": "Account created",
    "project:create": "Project created",
    "token:create": "API token created",
    "token:use": "API token used",
    "token:revoke": "API token revoked",
    "role:invite": "Role invitation sent",
    "role:add": "Role invitation accepted",
    "role:decline_invite": "Role invitation declined",
    "role:revoke_invite": "Role invitation withdrawn",
    "role:remove": "Role removed",
    "release:yank": "Release yanked",
    "release:unyank": "Release unyanked",
    "release:remove": "Release deleted",
    "file:remove": "File deleted",
    "file:add": "File uploaded",
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
