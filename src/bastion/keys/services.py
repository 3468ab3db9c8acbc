"""What the key program does: load codes, decide eligibility, hand out codes, remind claimers.

Eligibility is decided when the account claims, inside the claim's transaction, never when a
project is designated. The claim locks the account's row (one claim per account at a time) and
takes an unclaimed code with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so parallel
claims never share a code and never wait on each other's rows; SQLite serializes writers anyway
(``IMMEDIATE`` transactions). The unique ``(claimed_by, slot)`` is the last line of defence.

A code is never logged, never put in an event or a mail, and only decrypted for its claimer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.text import slugify

from bastion.accounts import mail
from bastion.accounts.models import Email, User
from bastion.critical.enforcement import critical_projects_of
from bastion.critical.services import KEY_OFFER_PATH
from bastion.events import services as events
from bastion.events.services import CLI, Origin
from bastion.keys.countries import COUNTRIES, country_name
from bastion.keys.models import PromoCode, Vendor
from bastion.keys.policy import Decision, Facts, Policy
from bastion.mfa import crypto
from bastion.mfa.models import WebAuthnCredential
from bastion.mfa.services import two_factor_methods

CODE_SECRET = b"bastion.keys.promo-code.v1"
CODE_DIGEST = b"bastion.keys.promo-code-digest.v1"
HEADER = ["code", "vendor", "country", "batch"]
#: A vendor's name as a CSV gives it ("Google Titan"); its short name is derived, so both fit 64.
MAX_VENDOR_NAME = 64
#: Where a claimer registers the key once it arrives.
REGISTER_KEY_PATH = "/manage/account/two-factor/webauthn/"
#: The offer page; the critical-project mails link to it.
OFFER_PATH = KEY_OFFER_PATH


class ClaimRefused(Exception):
    """A claim that cannot be granted. The message is shown to the person; the status to HTTP."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.message = message
        self.status = status


class ImportRefused(Exception):
    """The file cannot be imported at all (its header, its encoding); nothing was written."""


def today() -> date:
    return timezone.localdate()


# ---------------------------------------------------------------------------------------------
# Inventory


@dataclass
class ImportResult:
    """What an import did. Rows are named by line number, never by the code on them."""

    added: int = 0
    duplicates: list[int] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "bad": [{"line": line, "reason": reason} for line, reason in self.bad],
        }


def _digest(code: str) -> str:
    return crypto.digest(code, CODE_DIGEST)


def vendor_key(name: str) -> str:
    """A vendor's short name, derived from the name a CSV gives: "Google Titan" -> "google-titan".

    It is what the offer form sends and what the import matches on, so two spellings of one
    name ("Google Titan", "google  titan") are one vendor.
    """
    return slugify(name, allow_unicode=True)


def _vendor_problem(name: str) -> str:
    if not name:
        return "the vendor is empty"
    if len(name) > MAX_VENDOR_NAME or len(vendor_key(name)) > MAX_VENDOR_NAME:
        return f"the vendor is longer than {MAX_VENDOR_NAME} characters"
    if not vendor_key(name):
        return "the vendor has no letters or digits"
    return ""


def _known_vendor(name: str, vendors: Iterable[Vendor]) -> Vendor | None:
    """The vendor a CSV means: by its short name as written (titan, or a legacy feitian.tech),
    by the short name derived from it, or by its name in any case."""
    vendors = list(vendors)
    exact = [vendor for vendor in vendors if vendor.slug == name]
    derived = [
        vendor
        for vendor in vendors
        if vendor.slug == vendor_key(name) or vendor.name.casefold() == name.casefold()
    ]
    return next(iter(exact + derived), None)


def _words(name: str) -> frozenset[str]:
    return frozenset(vendor_key(name).split("-")) - {""}


def _looks_alike(name: str, other: str) -> bool:
    """Whether the words of one name are all in the other, as with titan and Google Titan.

    Loaded as they are, such names would silently become two vendors, each with part of the
    stock, and claimers would see the same keys offered twice.
    """
    mine, theirs = _words(name), _words(other)
    return mine != theirs and (mine <= theirs or theirs <= mine)


def _vendor_problems(first_lines: dict[str, int], vendors: list[Vendor]) -> list[tuple[int, str]]:
    """New vendor names that look like a known vendor, or like another new name in the file.

    A new name is usually a new vendor, but "Google Titan" in a file when "titan" is loaded (or
    the other way round) is far more often the same one written two ways. The file is refused
    with the fix; a vendor that really is another one is added in the admin first.
    """
    problems = []
    new: dict[str, str] = {}  # short name -> the first name in the file that derives it
    for name, line in sorted(first_lines.items(), key=lambda item: item[1]):
        if _known_vendor(name, vendors) is not None or vendor_key(name) in new:
            continue
        known = next(
            (v for v in vendors if _looks_alike(name, v.name) or _looks_alike(name, v.slug)), None
        )
        earlier = next((n for n in new.values() if _looks_alike(name, n)), None)
        if known is not None:
            problems.append(
                (
                    line,
                    f"the vendor '{name}' is new but looks like the vendor '{known.name}' "
                    f"(short name '{known.slug}'): write '{known.slug}', or rename that vendor to "
                    f"'{name}' in the admin; if it is another vendor, add it in the admin first",
                )
            )
        elif earlier is not None:
            problems.append(
                (
                    line,
                    f"the vendors '{earlier}' (line {first_lines[earlier]}) and '{name}' look "
                    "like one vendor: write the same name on both, or, if they are two, add "
                    "them in the admin first",
                )
            )
        new[vendor_key(name)] = name
    return problems


def _vendors_for(names: Iterable[str]) -> dict[str, Vendor]:
    """Each name's vendor, creating those not known yet (named as the CSV writes them)."""
    vendors = list(Vendor.objects.all())
    found: dict[str, Vendor] = {}
    for name in names:  # in the file's order: the first spelling names a new vendor
        vendor = _known_vendor(name, vendors)
        if vendor is None:
            vendor, _ = Vendor.objects.get_or_create(slug=vendor_key(name), defaults={"name": name})
            vendors.append(vendor)
        found[name] = vendor
    return found


def _check_row(row: dict[str, str]) -> str:
    """Why a row cannot be loaded, or "" when it can."""
    if None in row or any(row[column] is None for column in HEADER):
        return f"expected {len(HEADER)} columns ({','.join(HEADER)})"
    if not row["code"]:
        return "the code is empty"
    if any(character.isspace() for character in row["code"]) or len(row["code"]) > 200:
        return "the code has spaces in it or is longer than 200 characters"
    vendor_problem = _vendor_problem(row["vendor"])
    if vendor_problem:
        return vendor_problem
    if row["country"] and row["country"] not in COUNTRIES:
        return f"'{row['country']}' is not an ISO 3166-1 alpha-2 country code"
    if len(row["batch"]) > 64:
        return "the batch is longer than 64 characters"
    return ""


def import_codes(path: Path) -> ImportResult:
    """Load a CSV with the header ``code,vendor,country,batch``; ``country`` empty = anywhere.

    ``vendor`` is the vendor's name as people read it ("Google Titan") or the short name of a
    vendor already loaded ("titan"); a new name makes a new vendor, unless it looks like a known
    one (see :func:`_vendor_problems`).

    Codes already loaded (or repeated in the file) are duplicates and skipped, so importing the
    same file twice adds nothing. Any bad row refuses the whole file: the operator fixes it and
    runs the import again, and never wonders which half went in.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(f"{path} is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if header != HEADER:
        raise ImportRefused(f"{path}: the first line must be '{','.join(HEADER)}'")
    reader.fieldnames = HEADER
    result = ImportResult()
    pending: dict[str, tuple[int, dict[str, str]]] = {}
    for row in reader:
        line = reader.line_num
        row = {k: v.strip() if isinstance(v, str) else v for k, v in row.items()}
        if not any(row.get(column) for column in HEADER):
            continue  # a blank line
        row["country"] = (row["country"] or "").upper()
        if row["vendor"]:
            row["vendor"] = " ".join(row["vendor"].split())  # a name, spaced as people read it
        problem = _check_row(row)
        if problem:
            result.bad.append((line, problem))
            continue
        digest = _digest(row["code"])
        if digest in pending:
            result.duplicates.append(line)
        else:
            pending[digest] = (line, row)
    if result.bad:
        return result
    first_lines: dict[str, int] = {}
    for line, row in pending.values():
        first_lines.setdefault(row["vendor"], line)
    result.bad = _vendor_problems(first_lines, list(Vendor.objects.all()))
    if result.bad:
        return result
    with transaction.atomic():
        known = set(
            PromoCode.objects.filter(digest__in=list(pending)).values_list("digest", flat=True)
        )
        vendors = _vendors_for(first_lines)
        fresh = []
        for digest, (line, row) in pending.items():
            if digest in known:
                result.duplicates.append(line)
                continue
            fresh.append(
                PromoCode(
                    vendor=vendors[row["vendor"]],
                    country=row["country"],
                    batch=row["batch"],
                    encrypted_code=crypto.encrypt(row["code"], CODE_SECRET),
                    digest=digest,
                )
            )
        PromoCode.objects.bulk_create(fresh, batch_size=1_000)
    result.added = len(fresh)
    result.duplicates.sort()
    return result


# ---------------------------------------------------------------------------------------------
# Eligibility and stock


def facts_about(user: User) -> Facts:
    return Facts(
        critical_projects=tuple(critical.name for critical in critical_projects_of(user)),
        methods=frozenset(two_factor_methods(user)),
        joined=user.date_joined,
    )


def claimed_codes(user: User) -> list[PromoCode]:
    return list(PromoCode.objects.filter(claimed_by=user).select_related("vendor").order_by("slot"))


def eligibility(
    user: User, *, policy: Policy | None = None, on: date | None = None, held: int | None = None
) -> Decision:
    """May ``user`` claim a code now? The offer's dates, the account's share, then the rules."""
    policy = policy or Policy.from_environment()
    on = on or today()
    offer = policy.offer_status(on)
    if not offer.eligible:
        return offer  # not started or closed: nothing about the account matters
    if held is None:
        held = PromoCode.objects.filter(claimed_by=user).count()
    if held >= policy.per_account:
        if policy.per_account == 1:
            return Decision(False, "You have already claimed your security key code.")
        return Decision(False, f"You have already claimed your {policy.per_account} codes.")
    return policy.decide(facts_about(user), on)


def _unclaimed(country: str):
    return PromoCode.objects.filter(claimed_by__isnull=True, country__in=[country, ""])


def stock(country: str) -> list[dict]:
    """Per vendor, how many codes are left that can ship to ``country``."""
    counts = dict(
        _unclaimed(country).values_list("vendor_id").annotate(left=Count("id")).order_by()
    )
    vendors = Vendor.objects.filter(pk__in=list(counts))
    return [{"vendor": vendor, "left": counts[vendor.pk]} for vendor in vendors]


def countries_in_stock() -> list[str]:
    """Countries with codes of their own; an empty string means some codes ship anywhere."""
    return sorted(
        set(PromoCode.objects.filter(claimed_by__isnull=True).values_list("country", flat=True))
    )


# ---------------------------------------------------------------------------------------------
# Claims


def _no_stock(country: str, vendor: Vendor | None) -> ClaimRefused:
    where = country_name(country)
    if vendor is None:
        return ClaimRefused(f"There are no codes left for {where}.", status=409)
    return ClaimRefused(f"There are no {vendor.name} codes left for {where}.", status=409)


def claim(
    user: User,
    *,
    country: str,
    vendor: str | None = None,
    origin: Origin = CLI,
    policy: Policy | None = None,
    on: date | None = None,
) -> PromoCode:
    """Hand one code that ships to ``country`` (from ``vendor``, if named) to ``user``.

    Raises :class:`ClaimRefused` with the reason when the account is not eligible now, has
    its share already, or no code is left; nothing is written then.
    """
    policy = policy or Policy.from_environment()
    country = (country or "").upper()
    if country not in COUNTRIES:
        raise ClaimRefused("Choose the country your key will be shipped to.", status=400)
    chosen = None
    if vendor:
        chosen = Vendor.objects.filter(slug=vendor).first()
        if chosen is None:
            raise ClaimRefused("There is no such vendor.", status=400)
    try:
        with transaction.atomic():
            # One claim per account at a time: the share is counted under this lock.
            User.objects.select_for_update().filter(pk=user.pk).first()
            held = PromoCode.objects.filter(claimed_by=user).count()
            decision = eligibility(user, policy=policy, on=on, held=held)
            if not decision.eligible:
                raise ClaimRefused(decision.reason)
            candidates = _unclaimed(country)
            if chosen is not None:
                candidates = candidates.filter(vendor=chosen)
            code = (
                candidates.select_for_update(skip_locked=True)
                .order_by("-country", "id")  # this country's own codes first; keep the global ones
                .first()
            )
            if code is None:
                raise _no_stock(country, chosen)
            code.claimed_by = user
            code.claimed_at = timezone.now()
            code.slot = held + 1  # counted under the lock; a racer with the same count collides
            code.save(update_fields=["claimed_by", "claimed_at", "slot"])
            events.record(
                "account:security_key:claim",
                user=user,
                origin=origin,
                vendor=code.vendor.name,
                country=code.country or "any",
                batch=code.batch,
            )
    except IntegrityError:  # a concurrent claim took this account's last slot first
        raise ClaimRefused("You have already claimed your security key code.") from None
    _mail_claimer(
        user, "security-key-claimed", {"vendor": code.vendor, "claimed_at": code.claimed_at}
    )
    return code


def reveal(code: PromoCode, user: User) -> str:
    """The plain code, for the account that claimed it and nobody else."""
    if code.claimed_by_id != user.pk:
        raise PermissionError("only the account that claimed a code may see it")
    return crypto.decrypt(code.encrypted_code, CODE_SECRET)


def key_registered_since(user: User, moment: datetime) -> WebAuthnCredential | None:
    """The first security key (or passkey) the account registered at or after ``moment``."""
    return WebAuthnCredential.objects.filter(user=user, created__gte=moment).first()


# ---------------------------------------------------------------------------------------------
# Mail


def _mail_claimer(user: User, message: str, context: dict) -> bool:
    address = (
        Email.objects.filter(user=user, primary=True, verified=True)
        .values_list("email", flat=True)
        .first()
    )
    return mail.send(
        message,
        [address] if address else [],
        {"user": user, "register_path": REGISTER_KEY_PATH, "offer_path": OFFER_PATH, **context},
    )


def send_reminders(*, policy: Policy | None = None, now: datetime | None = None) -> int:
    """Remind, once per claim, claimers with no security key ``reminder_days`` after claiming.

    The worker (or ``bastion keys remind``, from cron) calls this daily. Each reminder is
    claimed with a conditional update before the mail goes out, so concurrent runs send it
    once; when sending fails the mark is taken back and the next run tries again.
    """
    policy = policy or Policy.from_environment()
    now = now or timezone.now()
    registered = WebAuthnCredential.objects.filter(
        user=OuterRef("claimed_by"), created__gte=OuterRef("claimed_at")
    )
    due = (
        PromoCode.objects.filter(
            claimed_at__lte=now - timedelta(days=policy.reminder_days),
            reminder_sent_at__isnull=True,
        )
        .exclude(Exists(registered))
        .select_related("claimed_by", "vendor")
    )
    sent = 0
    for code in due:
        if not PromoCode.objects.filter(pk=code.pk, reminder_sent_at__isnull=True).update(
            reminder_sent_at=now
        ):
            continue  # another run has it
        context = {"vendor": code.vendor, "claimed_at": code.claimed_at}
        # claimed_code_is_complete: the database keeps a claimed code's claimer.
        if _mail_claimer(code.claimed_by, "security-key-reminder", context):  # type: ignore[arg-type]
            sent += 1
        else:
            PromoCode.objects.filter(pk=code.pk).update(reminder_sent_at=None)
    return sent
