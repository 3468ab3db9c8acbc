"""How a security event reads on the history pages: a sentence, then its details in words."""

from django import template

from bastion.events.describe import Described, describe

register = template.Library()


@register.filter
def described(event) -> Described:
    """``{% with about=event|described %}``: ``about.sentence`` and ``about.details``."""
    return describe(event.tag, event.additional)


@register.filter
def event_label(tag: str) -> str:
    """The sentence of a tag alone, for templates that have no event at hand."""
    return describe(tag, {}).sentence
