"""What the gate answers: a :class:`Decision` with its :class:`Code`, and :class:`Refused`,
the one exception that carries a refusal out of a service.

They live in a module of their own that imports nothing of Bastion's, so that the gate
(:mod:`bastion.authz`, which re-exports them) reads as its rules and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Code(enum.StrEnum):
    """Why the gate refused, for programs and tests; people read :attr:`Decision.reason`."""

    ACCOUNT_DISABLED = "account_disabled"
    EMAIL_UNVERIFIED = "email_unverified"
    TOKEN_SCOPE = "token_scope"  # noqa: S105 - a code, not a secret
    TOKEN_READ_ONLY = "token_read_only"  # noqa: S105 - a code, not a secret
    ROLE_REQUIRED = "role_required"
    ADMIN_REQUIRED = "admin_required"
    NOT_FOR_THE_OPERATOR = "not_for_the_operator"
    RECOVERY_FREEZE = "recovery_freeze"
    TWO_FACTOR_REQUIRED = "two_factor_required"
    CRITICAL_NAME_RESERVED = "critical_name_reserved"
    PROJECT_REQUIRES_TWO_FACTOR = "project_requires_two_factor"
    PROJECT_NOT_ACCEPTING_UPLOADS = "project_not_accepting_uploads"
    LAST_OWNER = "last_owner"
    CRITICAL_DELETION_NEEDS_APPROVAL = "critical_deletion_needs_approval"
    LAST_FACTOR = "last_factor"
    SECURITY_KEY_REQUIRED = "security_key_required"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # shown to people: twine's reason phrase, the page's error
    fix_url: str | None = None
    warning: str = ""  # allowed, but people should hear this (a grace period running out)
    code: str = ""  # a refusal's :class:`Code`


ALLOW = Decision(True)


def refuse(code: Code, reason: str, fix_url: str | None = None) -> Decision:
    return Decision(False, reason, fix_url=fix_url, code=code)


class Refused(Exception):
    """A service was refused by the gate; ``decision`` says why (its code, reason and fix link).

    The one way a refusal leaves a service: the upload view turns it into twine's reason phrase,
    the pages into the 403 page, the admin into an error message, the CLI into a message and
    exit status 1.
    """

    status = 403

    def __init__(self, decision: Decision):
        super().__init__(decision.reason)
        self.decision = decision

    @property
    def code(self) -> str:
        return self.decision.code

    @property
    def reason(self) -> str:
        return self.decision.reason
