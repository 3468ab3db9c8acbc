"""``{% load downloads %}{% project_downloads project.normalized_name %}`` on any page."""

from django import template

from bastion.downloads import charts, services

register = template.Library()


@register.inclusion_tag("downloads/_project_downloads.html")
def project_downloads(project_name: str) -> dict:
    """Last day, week and month of installs, and the 180-day chart, for one project."""
    return {
        "project_name": project_name,
        "recent": services.recent_downloads(project_name),
        "chart": charts.downloads_chart(services.daily_series(project_name)),
    }
