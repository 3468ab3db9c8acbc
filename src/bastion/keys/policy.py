"""The key offer's policy: who may claim, from when, until when, and how many codes each.

Eligibility widens in ordered phases, as PyPI's giveaway did in 2022. Each phase has a start
date and a rule; once a phase has started it stays in force, so an account is eligible when any
started phase admits it. The offer closes on the end date.

| variable | default | meaning |
|---|---|---|
| ``BASTION_KEYS_PHASES`` | critical-without-2fa since 2000-01-01 | a JSON list of phases |
| ``BASTION_KEYS_END_DATE`` | unset (no end) | the day the offer closes; no claim from that day on |
| ``BASTION_KEYS_PER_ACCOUNT`` | 1 | codes one account may claim |
| ``BASTION_KEYS_REMINDER_DAYS`` | 14 | days from a claim to the reminder to register the key |

A phase is ``{"start": "2022-07-08", "rule": "critical-without-2fa"}``. The rules (``before``
is a date or an ISO 8601 time, UTC unless it says otherwise):

- ``critical-without-2fa``: maintainers of critical projects with no second factor at all;
- ``critical-without-security-key``: maintainers of critical projects without a security key
  (authenticator-app users too);
- ``account-created-before`` with ``before``: any account created before then, without a
  security key.

A security key is any WebAuthn credential: a key registered as a passkey is still the key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bastion.mfa.services import PASSKEY, WEBAUTHN

DEFAULT_PHASES = '[{"start": "2000-01-01", "rule": "critical-without-2fa"}]'
SECURITY_KEY_METHODS = frozenset({WEBAUTHN, PASSKEY})


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about one account, gathered once per decision."""

    critical_projects: tuple[str, ...]
    methods: frozenset[str]
    joined: datetime

    @property
    def has_security_key(self) -> bool:
        return bool(self.methods & SECURITY_KEY_METHODS)


NOT_CRITICAL = "The offer is for maintainers of critical projects, and you do not maintain one."
HAS_TWO_FACTOR = (
    "You already use two-factor authentication. For now the offer is for maintainers of "
    "critical projects who do not."
)
HAS_SECURITY_KEY = "You already have a security key registered, so the offer is not for you."


def _critical_without_2fa(facts: Facts, phase: Phase) -> str:
    if not facts.critical_projects:
        return NOT_CRITICAL
    return HAS_TWO_FACTOR if facts.methods else ""


def _critical_without_security_key(facts: Facts, phase: Phase) -> str:
    if not facts.critical_projects:
        return NOT_CRITICAL
    return HAS_SECURITY_KEY if facts.has_security_key else ""


def _account_created_before(facts: Facts, phase: Phase) -> str:
    if phase.before is None:
        raise TypeError("The rule 'account-created-before' goes with a date (see Phase).")
    if facts.joined >= phase.before:
        return (
            "Your account was created too recently: the offer is for accounts created before "
            f"{phase.before:%Y-%m-%d %H:%M} UTC."
        )
    return HAS_SECURITY_KEY if facts.has_security_key else ""


#: Each rule returns why it refuses the account, or "" when it admits it.
RULES: dict[str, Callable[[Facts, Phase], str]] = {
    "critical-without-2fa": _critical_without_2fa,
    "critical-without-security-key": _critical_without_security_key,
    "account-created-before": _account_created_before,
}


def _moment(text: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be an ISO 8601 date or time, not {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a date (YYYY-MM-DD), not {text!r}") from None


@dataclass(frozen=True)
class Phase:
    start: date
    rule: str
    before: datetime | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown rule {self.rule!r}; the rules are {', '.join(RULES)}")
        if (self.rule == "account-created-before") != (self.before is not None):
            raise ValueError("'before' goes with the rule 'account-created-before', and only there")

    def refusal(self, facts: Facts) -> str:
        return RULES[self.rule](facts, self)

    def describe(self) -> str:
        """Who this phase admits, in words for the offer page."""
        if self.rule == "critical-without-2fa":
            return "maintainers of critical projects who do not use two-factor authentication yet"
        if self.rule == "critical-without-security-key":
            return "maintainers of critical projects who have no security key"
        return f"any account created before {self.before:%Y-%m-%d} that has no security key"

    @classmethod
    def from_dict(cls, data: dict) -> Phase:
        if not isinstance(data, dict) or not {"start", "rule"} <= data.keys():
            raise ValueError(f"a phase needs a 'start' and a 'rule', not {data!r}")
        before = data.get("before")
        return cls(
            start=_day(data["start"], "a phase's start"),
            rule=data["rule"],
            before=None if before is None else _moment(before, "a phase's 'before'"),
        )


@dataclass(frozen=True)
class Decision:
    """Whether an account may claim a code now; ``reason`` is shown to the person."""

    eligible: bool
    reason: str = ""


@dataclass(frozen=True)
class Policy:
    phases: tuple[Phase, ...] = field(
        default_factory=lambda: (Phase(start=date(2000, 1, 1), rule="critical-without-2fa"),)
    )
    end_date: date | None = None
    per_account: int = 1
    reminder_days: int = 14

    def __post_init__(self) -> None:
        if not self.phases:
            raise ValueError("the offer needs at least one phase")
        starts = [phase.start for phase in self.phases]
        if starts != sorted(starts):
            raise ValueError("phases must be listed in the order they start")
        if self.per_account < 1:
            raise ValueError("each account must be able to claim at least one code")
        if self.reminder_days < 0:
            raise ValueError("the reminder delay cannot be negative")

    @classmethod
    def from_environment(cls) -> Policy:
        """The operator's policy; a malformed value is an error, never a silent default."""
        raw = os.environ.get("BASTION_KEYS_PHASES") or DEFAULT_PHASES
        try:
            phases = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"BASTION_KEYS_PHASES is not valid JSON: {error}") from None
        if not isinstance(phases, list):
            raise ValueError("BASTION_KEYS_PHASES must be a JSON list of phases")
        end = os.environ.get("BASTION_KEYS_END_DATE")
        return cls(
            phases=tuple(Phase.from_dict(phase) for phase in phases),
            end_date=_day(end, "BASTION_KEYS_END_DATE") if end else None,
            per_account=_whole("BASTION_KEYS_PER_ACCOUNT", "1"),
            reminder_days=_whole("BASTION_KEYS_REMINDER_DAYS", "14"),
        )

    def started(self, on: date) -> list[Phase]:
        return [phase for phase in self.phases if phase.start <= on]

    def has_ended(self, on: date) -> bool:
        return self.end_date is not None and on >= self.end_date

    def offer_status(self, on: date) -> Decision:
        """Whether the offer is open at all on ``on``, whoever asks."""
        if not self.started(on):
            return Decision(
                False, f"The security key offer starts on {self.phases[0].start.isoformat()}."
            )
        if self.has_ended(on):
            return Decision(False, f"The security key offer closed on {self.end_date}.")
        return Decision(True)

    def decide(self, facts: Facts, on: date) -> Decision:
        """The phases in force on ``on``: any that admits wins; else the widest one's reason."""
        offer = self.offer_status(on)
        if not offer.eligible:
            return offer
        reasons = [phase.refusal(facts) for phase in self.started(on)]
        if "" in reasons:
            return Decision(True)
        return Decision(False, reasons[-1])


def _whole(name: str, default: str) -> int:
    raw = os.environ.get(name, default)
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
