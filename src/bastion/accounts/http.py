"""The type of a request that a signed-in account makes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from bastion.accounts.models import User


class SignedInRequest(HttpRequest):
    """A request behind ``login_required`` (or a decorator that implies it): ``request.user`` is
    a :class:`User`, never ``AnonymousUser``.

    Only an annotation for the type checker, as django-stubs suggests: Django still passes an
    ``HttpRequest``, and nothing creates one of these.
    """

    user: User
