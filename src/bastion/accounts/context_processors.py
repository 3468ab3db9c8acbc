"""Template context every page needs from accounts: whether to offer the register link."""

from django.conf import settings


def registration(request) -> dict:
    """``registration_open``: False when only an invitation or an administrator makes accounts."""
    return {"registration_open": settings.REGISTRATION == "open"}
