"""The designation and enforcement policy, read from the environment.

| variable | default | meaning |
|---|---|---|
| ``BASTION_CRITICAL_TOP_PERCENT`` | 1.0 | the share of ranked names that is critical by downloads |
| ``BASTION_CRITICAL_WINDOW_DAYS`` | 183 | the download window, ending yesterday |
| ``BASTION_CRITICAL_MIN_COHORT`` | 1 | never designate fewer names by rank than this |
| ``BASTION_CRITICAL_FOLLOW_DEPENDENCIES`` | 1 | dependencies of critical projects are critical |
| ``BASTION_CRITICAL_GRACE_DAYS`` | 30 | days between a designation and its enforcement date |
| ``BASTION_REQUIRE_2FA_FOR_ALL`` | 0 | every project-changing action needs 2FA (PyPI, 2024) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

_Number = TypeVar("_Number", int, float)


def _number(name: str, default: str, kind: type[_Number], minimum: _Number) -> _Number:
    raw = os.environ.get(name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {raw!r}")
    return value


def _flag(name: str, default: str) -> bool:
    raw = os.environ.get(name, default).strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{name} must be 1 or 0, not {raw!r}")


@dataclass(frozen=True)
class Policy:
    top_percent: float = 1.0
    window_days: int = 183
    min_cohort: int = 1
    follow_dependencies: bool = True
    grace_days: int = 30
    require_2fa_for_all: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.top_percent <= 100:
            raise ValueError("the top percent must be above 0 and at most 100")

    @classmethod
    def from_environment(cls) -> Policy:
        """The operator's policy; a malformed value is an error, never a silent default."""
        return cls(
            top_percent=_number("BASTION_CRITICAL_TOP_PERCENT", "1.0", float, 0.0),
            window_days=_number("BASTION_CRITICAL_WINDOW_DAYS", "183", int, 1),
            min_cohort=_number("BASTION_CRITICAL_MIN_COHORT", "1", int, 0),
            follow_dependencies=_flag("BASTION_CRITICAL_FOLLOW_DEPENDENCIES", "1"),
            grace_days=_number("BASTION_CRITICAL_GRACE_DAYS", "30", int, 0),
            require_2fa_for_all=_flag("BASTION_REQUIRE_2FA_FOR_ALL", "0"),
        )
