"""Generated avatars: initials on a colour derived from the username, as inline SVG.

No external service (no Gravatar): a page never tells a third party who looks at whom, and the
strict Content-Security-Policy has nothing to load. The colour comes from a hash, so a person
keeps the same one on every page; it is dark enough for white initials to read (WCAG AA).
"""

from __future__ import annotations

import colorsys
import hashlib
import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_WORD_START = re.compile(r"(?:^|[._\-+@\s])(\w)|(?<=[a-z])([A-Z])")


def initials(username: str) -> str:
    """Up to two letters: the first, and the start of a second word ("maya-smith" gives "MS")."""
    letters = [first or upper for first, upper in _WORD_START.findall(username)]
    if not letters:
        letters = [username[:1] or "?"]
    return "".join(letters[:2]).upper()


def colour(username: str) -> str:
    """A stable hue from the username's hash, at a lightness where white text has 5:1 contrast."""
    hue = int.from_bytes(hashlib.sha256(username.encode()).digest()[:2], "big") / 65536
    red, green, blue = colorsys.hls_to_rgb(hue, 0.30, 0.50)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def avatar_svg(username: str, size: int = 32) -> SafeString:
    """The avatar, decorative (``aria-hidden``): the username printed beside it is the label."""
    text = escape(initials(username))
    font_size = 15 if len(text) < 2 else 13
    return mark_safe(  # noqa: S308 - the only text, the initials, is escaped above
        f'<svg class="avatar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" '
        f'width="{size}" height="{size}" aria-hidden="true" focusable="false">'
        f'<circle cx="16" cy="16" r="16" fill="{colour(username)}"/>'
        f'<text x="16" y="16" dy=".35em" text-anchor="middle" font-size="{font_size}" '
        f'font-family="system-ui, sans-serif" font-weight="600" fill="#fff">{text}</text></svg>'
    )
