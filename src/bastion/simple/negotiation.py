"""PEP 691 content negotiation: which of the three page formats a client gets.

The rules are the "practical algorithm" every installer works with: the highest q-value wins, the
most specific matching media range decides an offer's q-value, ``q=0`` means "not acceptable",
and ties go to JSON when the client named the PyPI media types itself. A client that sends no
``Accept`` header or only wildcards gets ``text/html``, as on PyPI, because hatch's pre-check and
old tools parse HTML.
"""

from functools import lru_cache
from urllib.parse import unquote

V1_JSON = "application/vnd.pypi.simple.v1+json"
V1_HTML = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
OFFERS = (V1_JSON, V1_HTML, TEXT_HTML)

_ALIASES = {
    "application/vnd.pypi.simple.latest+json": V1_JSON,
    "application/vnd.pypi.simple.latest+html": V1_HTML,
}
_VND_PREFIX = "application/vnd.pypi.simple."
# Tie-breaks, most preferred first.
_PREFER_JSON = (V1_JSON, V1_HTML, TEXT_HTML)
_PREFER_HTML = (TEXT_HTML, V1_HTML, V1_JSON)


@lru_cache(maxsize=512)  # clients send a handful of distinct headers; parse each once
def choose(accept: str | None, format_param: str | None = None) -> str | None:
    """The media type to answer with, or None when nothing the index offers is acceptable.

    ``format_param`` is the ``?format=`` query value; when present it overrides ``Accept``.
    """
    if format_param is not None:
        wanted = _canonical(format_param)
        return wanted if wanted in OFFERS else None
    if accept is None or not accept.strip():
        return TEXT_HTML
    ranges = _parse(accept)
    named_vnd = any(media.startswith(_VND_PREFIX) for media, _ in ranges)
    best, best_q = None, 0.0
    for offer in _PREFER_JSON if named_vnd else _PREFER_HTML:
        q = _quality(offer, ranges)
        if q > best_q:  # strictly greater: on ties the earlier (preferred) offer stays
            best, best_q = offer, q
    return best


def format_param(query_string: str) -> str | None:
    """The ``format`` value of a raw query string, percent-decoded but with ``+`` kept literal.

    Media types contain ``+`` (``v1+json``) and never spaces, so form decoding would break them.
    """
    for pair in query_string.split("&"):
        key, sep, value = pair.partition("=")
        if sep and key == "format":
            return unquote(value)
    return None


def _canonical(media: str) -> str:
    media = media.strip().lower()
    return _ALIASES.get(media, media)


def _parse(accept: str) -> list[tuple[str, float]]:
    """(media range, q) pairs; ranges with a malformed q-value are ignored."""
    ranges = []
    for part in accept.split(","):
        media, *params = part.split(";")
        media = _canonical(media)
        if "/" not in media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = -1.0
        if 0.0 <= q <= 1.0:
            ranges.append((media, q))
    return ranges


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    """The q-value the most specific matching range gives ``offer`` (0 when none matches)."""
    kind = offer.split("/", 1)[0]
    best_specificity, best_q = -1, 0.0
    for media, q in ranges:
        if media == offer:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
        elif specificity == best_specificity:
            best_q = max(best_q, q)
    return best_q
