"""Project descriptions as safe HTML, rendered the way PyPI renders them.

``readme_renderer`` picks reStructuredText, Markdown or plain text from the release's
``Description-Content-Type`` and sanitizes the result (nh3): scripts, event handlers and
``javascript:`` links never survive. A description that fails to render is shown as plain text.
"""

import re
from email.message import Message
from importlib import import_module

import readme_renderer.txt
from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

#: What a description that declares no content type is tried as first; core metadata says to
#: fall back to plain text when it is not valid reStructuredText, as :func:`render` does.
DEFAULT_CONTENT_TYPE = "text/x-rst"

#: The empty permalink readme_renderer puts at the end of each Markdown heading. A link without
#: text is announced as just "link" by screen readers (axe: link-name, serious).
_EMPTY_PERMALINK = re.compile(r'<a href="#(user-content-[^"<>]*)" rel="nofollow"></a>')
_NAMED_PERMALINK = (
    r'<a href="#\1" rel="nofollow" class="permalink">'
    r'<span class="visually-hidden">Link to this section</span></a>'
)

#: readme_renderer marks a fenced code block's language as ``<pre lang="python">``, but ``lang``
#: takes a human language tag, so "python" is an invalid one (axe: valid-lang, serious). The
#: language becomes a class, as highlighters expect; names outside this alphabet are dropped.
_CODE_LANGUAGE = re.compile(r'<pre lang="([A-Za-z0-9_+.#-]*)[^"]*">')
_CODE_CLASS = r'<pre class="language-\1">'

#: Imported on first use: reStructuredText brings docutils, about 18 MiB in each server
#: process, which a process that never meets an rst description need not carry.
_RENDERERS = {
    "text/x-rst": "readme_renderer.rst",
    "text/markdown": "readme_renderer.markdown",
    "text/plain": "readme_renderer.txt",
}


def _parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["Content-Type"] = value or DEFAULT_CONTENT_TYPE
    params = dict(message.get_params(failobj=[])[1:])
    return message.get_content_type(), params


def _render_as_declared(description: str, content_type: str) -> str | None:
    """The renderer the content type names; None for invalid reStructuredText or an unknown
    Markdown variant. Unknown content types are treated as plain text."""
    kind, params = _parse_content_type(content_type)
    renderer = import_module(_RENDERERS.get(kind, "readme_renderer.txt"))
    kwargs = (
        {"variant": params["variant"]} if kind == "text/markdown" and "variant" in params else {}
    )
    return renderer.render(description, **kwargs)


def renders(description: str, content_type: str = "") -> bool:
    """Whether the description renders as ``content_type`` (reStructuredText when empty).

    An upload is refused only when it declared the type that fails; :func:`render` shows an
    undeclared description that is not valid reStructuredText as plain text.
    """
    return not description or _render_as_declared(description, content_type) is not None


def render(description: str, content_type: str = "") -> SafeString:
    """Sanitized HTML for a description; one that fails to render is shown as plain text."""
    if not description:
        return mark_safe("")
    html = _render_as_declared(description, content_type)
    if html is None:  # plain text always renders: its sanitizer refuses only a bad configuration
        html = readme_renderer.txt.render(description) or ""
    html = _EMPTY_PERMALINK.sub(_NAMED_PERMALINK, html)  # adds constant markup only
    html = _CODE_LANGUAGE.sub(_CODE_CLASS, html)  # a restricted alphabet: no markup
    return mark_safe(html)  # noqa: S308 - readme_renderer sanitizes its output with nh3


def render_release(release) -> SafeString:
    """A release's description, rendered once: a release's metadata never changes after upload."""
    key = f"readme3:{release.pk}:{len(release.description)}"  # 3: code blocks name no lang
    html = cache.get(key)
    if html is None:
        html = str(render(release.description, release.description_content_type))
        cache.set(key, html, timeout=24 * 3600)
    return mark_safe(html)  # noqa: S308 - produced by render() above
