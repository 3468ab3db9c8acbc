"""Read-only queries for pages: dashboards, profiles, search. They never change anything."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone
from packaging.version import Version

from bastion.packaging.models import Project, Release, Role, RoleInvitation
from bastion.packaging.services import normalize


def pending_invitations(user) -> QuerySet[RoleInvitation]:
    """The invitations ``user`` can still accept; expired ones are simply not offered."""
    return RoleInvitation.objects.filter(invitee=user, expires__gt=timezone.now()).select_related(
        "project", "invited_by"
    )


def projects_of(user) -> QuerySet[Role]:
    """The user's roles, with their projects, for dashboards and profile pages."""
    return (
        Role.objects.filter(user=user)
        .select_related("project")
        .order_by("project__normalized_name")
    )


#: Projects per page of a list or of search results.
PAGE_SIZE = 20

#: How many of the newest releases the third tier of a search reads (summaries that contain
#: the query), and how many projects it shows at most. Both bounded so that a search costs the
#: same at 500,000 projects as at 50 (see bench/search/).
CONTAINS_WINDOW = 50_000
CONTAINS_LIMIT = 1_000


@dataclass(frozen=True)
class Listing:
    """One row of a project list: what PyPI shows, plus the viewer's role where it matters."""

    project: Project
    version: str = ""
    summary: str = ""
    released: datetime | None = None
    role: str = ""


def listings(projects, roles: dict[int, str] | None = None) -> list[Listing]:
    """Latest version, summary and release date of each project of one page, in one query."""
    projects = list(projects)
    releases: dict[int, list[Release]] = defaultdict(list)
    fields = ("project_id", "version", "summary", "created", "yanked", "is_prerelease")
    for release in Release.objects.filter(project__in=projects).only(*fields):
        releases[release.project_id].append(release)
    rows = []
    for project in projects:
        newest = sorted(releases[project.pk], key=lambda r: Version(r.version), reverse=True)
        current = current_release(newest)
        rows.append(
            Listing(
                project,
                version=current.version if current else "",
                summary=current.summary if current else "",
                released=current.created if current else None,
                role=(roles or {}).get(project.pk, ""),
            )
        )
    return rows


def _name_prefix(normalized: str) -> Q:
    """Names starting with ``normalized``, as a range the unique index on the name answers.

    SQLite's LIKE ignores case and so never uses the index; a range does, and normalized names
    compare byte by byte there. PostgreSQL answers ``LIKE 'x%'`` from the ``varchar_pattern_ops``
    index Django creates beside every unique CharField, whatever the database's collation.
    """
    if connection.vendor == "sqlite":
        return Q(normalized_name__gte=normalized, normalized_name__lt=normalized + "\U0010ffff")
    return Q(normalized_name__startswith=normalized)


class RankedSearch:
    """Search results in rank order: the exact name, then names starting with the query (A to
    Z), then projects whose summary contains it (most recently changed first; at most
    :data:`CONTAINS_LIMIT`, among the newest :data:`CONTAINS_WINDOW` releases).

    Each tier is a query an index answers (the third reads a bounded window of releases), and
    :class:`django.core.paginator.Paginator` slices this object: a page reads only its tiers.
    """

    def __init__(self, query: str):
        self.query = query.strip()
        self.normalized = normalize(self.query)
        self.prefix = _name_prefix(self.normalized)
        self.exact = Project.objects.filter(normalized_name=self.normalized)
        self.starting = (
            Project.objects.filter(self.prefix)
            .exclude(normalized_name=self.normalized)
            .order_by("normalized_name")
        )
        self._counts: list[int] | None = None
        self._containing: list[int] | None = None

    def containing(self) -> list[int]:
        """Ids of the third tier, read once: counting and showing them cost one scan."""
        if self._containing is None:
            newest = Release.objects.order_by("-id").values_list("id", flat=True).first() or 0
            summaries = Release.objects.filter(
                id__gt=newest - CONTAINS_WINDOW, summary__icontains=self.query
            ).values("project_id")
            ranked = (
                Project.objects.filter(pk__in=summaries)
                .exclude(self.prefix)
                .order_by("-last_serial", "normalized_name")
            )
            self._containing = list(ranked.values_list("pk", flat=True)[:CONTAINS_LIMIT])
        return self._containing

    def counts(self) -> list[int]:
        if self._counts is None:
            self._counts = [self.exact.count(), self.starting.count(), len(self.containing())]
        return self._counts

    def count(self) -> int:
        return sum(self.counts())

    def __len__(self) -> int:
        return self.count()

    def _tier(self, number: int, start: int, stop: int) -> list[Project]:
        if number < 2:
            return list((self.exact, self.starting)[number][start:stop])
        ids = self.containing()[start:stop]
        found = Project.objects.in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]

    def __getitem__(self, window: slice) -> list[Project]:
        start, stop = window.start or 0, window.stop if window.stop is not None else self.count()
        found: list[Project] = []
        for number, size in enumerate(self.counts()):
            if start < size and stop > 0:
                found += self._tier(number, max(start, 0), min(stop, size))
            start, stop = start - size, stop - size
        return found


def search_projects(query: str) -> RankedSearch:
    """Ranked results of a search (see :class:`RankedSearch`); paginate them."""
    return RankedSearch(query)


def recently_changed() -> QuerySet[Project]:
    """Projects with at least one upload, the most recently changed first."""
    return Project.objects.filter(last_serial__gt=0).order_by("-last_serial")


def listed_projects_of(user) -> list[Listing]:
    """The user's projects for "Your projects" and the profile: the newest release first."""
    roles = dict(Role.objects.filter(user=user).values_list("project_id", "role_name"))
    projects = Project.objects.filter(pk__in=roles)
    rows = listings(projects, roles)
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(rows, key=lambda row: (row.released or epoch, row.project.pk), reverse=True)


def releases_newest_first(project: Project) -> list[Release]:
    """Releases in PEP 440 order, newest first, with their files."""
    releases = project.releases.prefetch_related("files")
    return sorted(releases, key=lambda release: Version(release.version), reverse=True)


def current_release(releases: list[Release]) -> Release | None:
    """What a project page shows first: the newest final release nobody yanked, if any."""
    for wanted in (
        lambda r: not r.yanked and not r.is_prerelease,
        lambda r: not r.yanked,
        lambda r: True,
    ):
        found = next((release for release in releases if wanted(release)), None)
        if found is not None:
            return found
    return None


def maintainers(project: Project) -> QuerySet[Role]:
    return project.roles.select_related("user").order_by(
        "-role_name", "user__username"
    )  # Owners first
