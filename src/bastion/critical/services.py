"""Running the designation against the database, and what follows from a designation.

The computation itself is :func:`bastion.critical.designation.compute`; this module only reads its
inputs (installer downloads from the downloads app, the dependency graph from packaging), stores
what it returns, and tells people: the one-time notice, the daily grace reminder, the events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from packaging.version import InvalidVersion, Version

from bastion.accounts import mail
from bastion.accounts.models import Email, User
from bastion.critical import enforcement, selectors
from bastion.critical.designation import Outcome, Reason, compute, reason_from_dict
from bastion.critical.models import Designation, DesignationNotice, GraceReminder, StatsSnapshot
from bastion.critical.policy import Policy
from bastion.events import services as events
from bastion.packaging.models import Dependency, Project, Release, Role

DownloadSource = Callable[[date, date], dict[str, int]]

KEY_OFFER_PATH = "/manage/account/security-key/"


class CriticalError(Exception):
    """A refusal people read, from the CLI or the admin pages."""


def installer_downloads(since: date, until: date) -> dict[str, int]:
    """Installer-class downloads per normalized name, mirrors excluded (the downloads app)."""
    from bastion.downloads.services import installer_downloads as from_rollups

    return from_rollups(since, until)


def window(policy: Policy, on: date) -> tuple[date, date]:
    """The download window: ``window_days`` whole days, ending yesterday."""
    until = on - timedelta(days=1)
    return until - timedelta(days=policy.window_days - 1), until


def _latest_releases(rows: Iterable[tuple[int, str, str]]) -> dict[int, str]:
    """Each project's latest non-yanked release (PEP 440 order), from (release id, project name,
    version) rows of non-yanked releases: release id -> project name.

    Version strings repeat across projects ("1.0", "0.1.0" ...), so each is parsed once.
    """
    parsed: dict[str, Version | None] = {}
    latest: dict[str, tuple[Version, int]] = {}
    for release_id, project_name, raw_version in rows:
        if raw_version not in parsed:
            try:
                parsed[raw_version] = Version(raw_version)
            except InvalidVersion:
                parsed[raw_version] = None
        version = parsed[raw_version]
        if version is None:
            continue
        best = latest.get(project_name)
        if best is None or version > best[0]:
            latest[project_name] = (version, release_id)
    return {release_id: project_name for project_name, (_, release_id) in latest.items()}


def _slices(items: list, size: int = 5_000) -> Iterator[list]:
    """Slices small enough for one query's parameters (SQLite caps them)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dependencies_of(names: Iterable[str]) -> dict[str, set[str]]:
    """Runtime requirements of the latest non-yanked release of each named project hosted here.

    Extras-only requirements are left out: nobody gets them without asking for the extra. The
    designation asks for the names it reaches, a few thousand of PyPI's 500,000 projects, one
    distance at a time, so it reads those projects' releases and edges instead of all of them.
    """
    releases: list[tuple[int, str, str]] = []
    for names_slice in _slices(sorted(set(names))):
        releases += Release.objects.filter(
            project__normalized_name__in=names_slice, yanked=False
        ).values_list("pk", "project__normalized_name", "version")
    chosen = _latest_releases(releases)
    graph: defaultdict[str, set[str]] = defaultdict(set)
    for release_slice in _slices(sorted(chosen)):
        edges = Dependency.objects.filter(release_id__in=release_slice, extra_only=False)
        for release_id, name in edges.values_list("release_id", "name"):
            project_name = chosen[release_id]
            if name != project_name:
                graph[project_name].add(name)
    return dict(graph)


def dependency_graph() -> dict[str, set[str]]:
    """The whole runtime dependency graph of the projects hosted here (see dependencies_of)."""
    return dependencies_of(Project.objects.values_list("normalized_name", flat=True))


def designations_in_force() -> tuple[dict[str, Reason], set[str]]:
    """The active designations with their first reasons, and the names an admin removed."""
    active: dict[str, Reason] = {}
    removed: set[str] = set()
    rows = Designation.objects.values_list("normalized_name", "reason", "removed_at")
    for name, reason, removed_at in rows.iterator(chunk_size=50_000):
        if removed_at is None:
            active[name] = reason_from_dict(reason)
        else:
            removed.add(name)
    return active, removed


@dataclass
class JobResult:
    """What one run of the designation decided, for ``--dry-run``, ``--json`` and the logs."""

    outcome: Outcome
    since: date
    until: date
    enforcement_date: date
    dry_run: bool
    notified: int = 0
    reminded: int = 0
    stored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        outcome = self.outcome
        return {
            "dry_run": self.dry_run,
            "window": {"since": self.since.isoformat(), "until": self.until.isoformat()},
            "ranked_names": outcome.ranked_names,
            "cutoff_rank": outcome.cutoff_rank,
            "cutoff_downloads": outcome.cutoff_downloads,
            "critical": len(outcome.critical),
            "added": [
                {
                    "name": name,
                    "reason": reason.as_dict(),
                    "explanation": reason.describe(),
                    "enforcement_date": self.enforcement_date.isoformat(),
                }
                for name, reason in sorted(outcome.added.items())
            ],
            "kept_without_qualifying": outcome.kept,
            "notified": self.notified,
            "reminded": self.reminded,
        }


def designate(
    *,
    policy: Policy | None = None,
    on: date | None = None,
    dry_run: bool = False,
    downloads: DownloadSource = installer_downloads,
) -> JobResult:
    """The designation job: compute the new set and, unless dry-running, store and announce it."""
    policy = policy or Policy.from_environment()
    on = on or enforcement.today()
    since, until = window(policy, on)
    previous, removed = designations_in_force()
    outcome = compute(
        downloads=downloads(since, until),
        dependencies=dependencies_of if policy.follow_dependencies else {},
        policy=policy,
        previous=previous,
        removed=removed,
        since=since.isoformat(),
        until=until.isoformat(),
    )
    result = JobResult(
        outcome=outcome,
        since=since,
        until=until,
        enforcement_date=on + timedelta(days=policy.grace_days),
        dry_run=dry_run,
    )
    if not dry_run:
        result.stored = _store(outcome.added, result.enforcement_date)
        result.notified = notify_maintainers()
    return result


def _store(added: dict[str, Reason], enforcement_date: date) -> list[str]:
    """Write the new designations, and one event per designated project hosted here."""
    now = timezone.now()
    rows = [
        Designation(
            normalized_name=name,
            kind=reason.kind,
            reason=reason.as_dict(),
            designated_at=now,
            enforcement_date=enforcement_date,
        )
        for name, reason in added.items()
    ]
    with transaction.atomic():
        Designation.objects.bulk_create(rows, batch_size=5_000, ignore_conflicts=True)
        stored_now = Designation.objects.filter(designated_at=now).values("normalized_name")
        events.record_all(
            events.event(
                "project:critical:designate",
                project=project,
                reason=added[project.normalized_name].describe(),
                enforcement_date=enforcement_date.isoformat(),
            )
            for project in Project.objects.filter(normalized_name__in=stored_now)
        )
    return sorted(added)


def _claim(model, rows: list) -> list:
    """Insert the rows that record a send; return the ones this run owns.

    All at once when nobody else is claiming (the normal case); row by row if a concurrent run
    got some first, so each (designation, person) or (person, day) is claimed exactly once.
    """
    try:
        with transaction.atomic():
            return model.objects.bulk_create(rows, batch_size=5_000)
    except IntegrityError:
        claimed = []
        for row in rows:
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                continue
            claimed.append(row)
        return claimed


def _usernames(user_ids: Iterable[int]) -> dict[int, str]:
    """Usernames by user id, asked in slices; the mails need nothing else of the account."""
    usernames: dict[int, str] = {}
    for ids in _slices(list(user_ids)):
        usernames.update(User.objects.filter(pk__in=ids).values_list("pk", "username"))
    return usernames


def _primary_emails(user_ids) -> dict[int, str]:
    """Primary addresses by user id, asked in slices (SQLite caps the parameters of a query)."""
    emails: dict[int, str] = {}
    for ids in _slices(list(user_ids)):
        emails.update(
            Email.objects.filter(user_id__in=ids, primary=True).values_list("user_id", "email")
        )
    return emails


#: Notices or reminders claimed at once, then sent: a crash between a claim and its send loses
#: at most this many mails (the claim is what stops a rerun from sending one twice).
MAILS_PER_CLAIM = 500


def _addressed(emails: dict[int, str], user_id: int) -> list[str]:
    return [emails[user_id]] if user_id in emails else []


def _claim_and_send(
    model, rows: list, name: str, mail_of: Callable[[Any], tuple[list[str], dict]]
) -> int:
    """Claim ``rows`` and send each claimed row the mail ``mail_of(row)`` (its recipients and
    :func:`mail.render_each` context), a slice of rows at a time; drop the claims whose mail did
    not go out, so the next run tries again. Returns how many went out.

    Each slice is rendered before it is claimed, so a template that cannot be rendered leaves
    nothing claimed, and all its mails share connections (:func:`mail.deliver_each`).
    """
    sent = 0
    for chunk in _slices(rows, MAILS_PER_CLAIM):
        addressed = [mail_of(row) for row in chunk]
        texts = mail.render_each(name, (context for _, context in addressed))
        ready = {
            id(row): (subject, body, to)
            for row, (to, _), (subject, body) in zip(chunk, addressed, texts, strict=True)
        }
        claimed = _claim(model, chunk)
        delivered = mail.deliver_each(ready[id(row)] for row in claimed)
        failed = [row.pk for row, ok in zip(claimed, delivered, strict=True) if not ok]
        model.objects.filter(pk__in=failed).delete()
        sent += len(claimed) - len(failed)
    return sent


def notify_maintainers() -> int:
    """Mail every owner and maintainer of a critical project once: why, what to do, and when.

    The (designation, user) row is claimed before the mail goes out, so repeated or concurrent
    runs send it once; if sending fails the claim is dropped and the next run tries again.
    Maintainers who join a critical project later get the mail on the next run.
    """
    active = Designation.objects.active()
    roles = Role.objects.filter(
        project__normalized_name__in=active.values("normalized_name"), user__is_active=True
    )
    wanted = list(
        roles.values_list("user_id", "project_id", "project__normalized_name", "role_name")
    )
    if not wanted:
        return 0
    notified = set(DesignationNotice.objects.values_list("designation_id", "user_id"))
    designation_ids = dict(active.values_list("normalized_name", "pk"))
    project_ids = {name: project_id for _, project_id, name, _ in wanted}
    role_names = {(user_id, project_id): role for user_id, project_id, _, role in wanted}
    pending = [
        DesignationNotice(designation_id=designation_ids[name], user_id=user_id)
        for user_id, _, name, _ in wanted
        if (designation_ids[name], user_id) not in notified
    ]
    if not pending:
        return 0
    # What the notice says of each designation and project, once each (not per person).
    designations: dict[int, tuple[str, str, str, str]] = {}
    for ids in _slices(sorted({n.designation_id for n in pending})):
        rows = Designation.objects.filter(pk__in=ids).values_list(
            "pk", "normalized_name", "reason", "designated_at", "enforcement_date"
        )
        for pk, name, reason, at, enforced in rows:
            explanation = reason_from_dict(reason).describe()
            designations[pk] = (name, explanation, at.date().isoformat(), enforced.isoformat())
    project_names: dict[int, str] = {}
    for ids in _slices(sorted(project_ids.values())):
        project_names.update(Project.objects.filter(pk__in=ids).values_list("pk", "name"))
    usernames = _usernames({n.user_id for n in pending})
    emails = _primary_emails(usernames)
    two_factor_url = enforcement.two_factor_url()

    def notice(row: DesignationNotice) -> tuple[list[str], dict]:
        normalized_name, explanation, designated, enforced = designations[row.designation_id]
        project_id = project_ids[normalized_name]
        return _addressed(emails, row.user_id), {
            "user": {"username": usernames[row.user_id]},
            "project": {"name": project_names[project_id], "normalized_name": normalized_name},
            "role": role_names[(row.user_id, project_id)].lower(),
            "explanation": explanation,
            "designated": designated,
            "enforcement_date": enforced,
            "two_factor_url": two_factor_url,
            "key_offer_path": KEY_OFFER_PATH,
        }

    return _claim_and_send(DesignationNotice, pending, "critical-designated", notice)


def send_grace_reminders(on: date | None = None) -> int:
    """Once a day, remind maintainers without 2FA whose critical project is still in grace.

    Claimed like the notices: once per person and day, and a reminder that could not be sent is
    tried again by the next run that day.
    """
    on = on or enforcement.today()
    grace = Designation.objects.active().filter(enforcement_date__gt=on)
    in_grace = dict(grace.values_list("normalized_name", "enforcement_date"))
    if not in_grace:
        return 0
    roles = Role.objects.filter(
        project__normalized_name__in=grace.values("normalized_name"), user__is_active=True
    ).values_list("user_id", "project__name", "project__normalized_name")
    protected = selectors.users_with_two_factor()
    reminded = set(GraceReminder.objects.filter(day=on).values_list("user_id", flat=True))
    at_risk: dict[int, list[tuple[date, str]]] = {}
    for user_id, name, normalized in roles:
        if user_id not in protected and user_id not in reminded:
            at_risk.setdefault(user_id, []).append((in_grace[normalized], name))
    usernames = _usernames(at_risk)
    emails = _primary_emails(usernames)
    two_factor_url = enforcement.two_factor_url()

    def reminder(row: GraceReminder) -> tuple[list[str], dict]:
        projects = sorted(at_risk[row.user_id], key=lambda project: project[0])
        return _addressed(emails, row.user_id), {
            "user": {"username": usernames[row.user_id]},
            "projects": [
                {"name": name, "enforcement_date": enforced.isoformat()}
                for enforced, name in projects
            ],
            "two_factor_url": two_factor_url,
            "key_offer_path": KEY_OFFER_PATH,
        }

    pending = [GraceReminder(user_id=user_id, day=on) for user_id in sorted(at_risk)]
    return _claim_and_send(GraceReminder, pending, "critical-grace-reminder", reminder)


def snapshot_stats(on: date | None = None) -> StatsSnapshot:
    """Record (or refresh) the day's adoption numbers for the history chart on /stats/."""
    snapshot, _ = StatsSnapshot.objects.update_or_create(
        day=on or enforcement.today(), defaults={"numbers": selectors.adoption()}
    )
    return snapshot


def daily(on: date | None = None) -> JobResult:
    """The worker's daily routine: designate and announce, remind, and take the snapshot."""
    on = on or enforcement.today()
    result = designate(on=on)
    result.reminded = send_grace_reminders(on)
    snapshot_stats(on)
    return result
