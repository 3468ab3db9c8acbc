"""``{% load avatars %}{% avatar user.username %}``: a generated avatar on any page."""

from django import template
from django.utils.safestring import SafeString

from bastion.web.avatars import avatar_svg

register = template.Library()


@register.simple_tag
def avatar(username: str, size: int = 32) -> SafeString:
    return avatar_svg(username, size)
