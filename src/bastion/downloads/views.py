"""Read-only download statistics over HTTP."""

from django.http import Http404, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from packaging.utils import canonicalize_name

from bastion.downloads import queries, services


@require_safe
@cache_control(public=True, max_age=300)
def project_stats(request, name: str) -> JsonResponse:
    """The daily series of one project, for every installer class, over the chart's window."""
    if not queries.PROJECT_NAME.fullmatch(name):
        raise Http404("not a valid project name")
    project = canonicalize_name(name)
    return JsonResponse(
        {
            "project": project,
            "recent": services.recent_downloads(project),
            "data": services.daily_series(project),
        }
    )
