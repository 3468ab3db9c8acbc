"""Read-only queries for pages: dashboards, profiles, search. They never change anything."""

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


def search_projects(query: str, limit: int = 50) -> list[Project]:
    """Projects whose name matches: the exact normalized name first, then substrings A to Z."""
    query = query.strip()
    if not query:
        return []
    normalized = normalize(query)
    exact = list(Project.objects.filter(normalized_name=normalized))
    substrings = (
        Project.objects.filter(Q(normalized_name__contains=normalized) | Q(name__icontains=query))
        .exclude(normalized_name=normalized)
        .order_by("normalized_name")
    )
    return exact + list(substrings[: limit - len(exact)])


def recently_changed(limit: int = 20) -> QuerySet[Project]:
    return Project.objects.filter(last_serial__gt=0).order_by("-last_serial")[:limit]


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
