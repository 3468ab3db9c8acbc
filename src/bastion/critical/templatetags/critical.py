"""``{% critical_status project as critical %}``: the designation facts a page shows."""

from django import template

from bastion.critical.selectors import explain

register = template.Library()


@register.simple_tag
def critical_status(project) -> dict:
    """What :func:`bastion.critical.selectors.explain` says, for the badge and the section."""
    return explain(project.normalized_name)
