"""PEP 691 negotiation with the exact Accept headers real clients send."""

import pytest

from bastion.simple.negotiation import TEXT_HTML, V1_HTML, V1_JSON, choose, format_param

PIP = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
UV = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
POETRY_CUSTOM_SOURCE = "application/vnd.pypi.simple.v1+json, */*;q=0.1"
POETRY_PYPI = "application/vnd.pypi.simple.v1+json"
HTTPX_DEFAULT = "*/*"  # hatch's pre-check sends no Accept of its own
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (PIP, V1_JSON),
        (UV, V1_JSON),
        (POETRY_CUSTOM_SOURCE, V1_JSON),
        (POETRY_PYPI, V1_JSON),
        (HTTPX_DEFAULT, TEXT_HTML),
        (None, TEXT_HTML),
        ("", TEXT_HTML),
        (BROWSER, TEXT_HTML),
        ("text/html", TEXT_HTML),
        ("text/*", TEXT_HTML),
        (V1_HTML, V1_HTML),
        ("application/vnd.pypi.simple.latest+json", V1_JSON),
        ("application/vnd.pypi.simple.latest+html", V1_HTML),
        ("APPLICATION/VND.PYPI.SIMPLE.V1+JSON", V1_JSON),
        # the highest q wins, whatever the order
        ("text/html, application/vnd.pypi.simple.v1+json;q=0.5", TEXT_HTML),
        (
            "application/vnd.pypi.simple.v1+html;q=0.9, application/vnd.pypi.simple.v1+json;q=0.8",
            V1_HTML,
        ),
        # ties prefer JSON, then the versioned HTML, when the client named the PyPI types
        ("text/html, application/vnd.pypi.simple.v1+json", V1_JSON),
        ("text/html, application/vnd.pypi.simple.v1+html", V1_HTML),
        # the most specific range decides; q=0 refuses an offer that a wildcard would allow
        ("application/vnd.pypi.simple.v1+json;q=0, */*", V1_HTML),
        ("text/html;q=0, */*;q=0.5", V1_HTML),
        # malformed q-values drop their range only
        ("application/vnd.pypi.simple.v1+json;q=high, text/html;q=0.5", TEXT_HTML),
        ("application/vnd.pypi.simple.v1+json;q=2, text/html;q=0.5", TEXT_HTML),
    ],
)
def test_accept_header_picks_format(accept, expected):
    assert choose(accept) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/vnd.pypi.simple.v1+json;q=0",
        "*/*;q=0",
        "application/vnd.pypi.simple.v2+json",
        "image/png, text/plain",
        "garbage",
    ],
)
def test_nothing_acceptable_gives_none(accept):
    assert choose(accept) is None


def test_format_parameter_overrides_accept():
    assert choose("text/html", "application/vnd.pypi.simple.v1+json") == V1_JSON
    assert choose(PIP, "text/html") == TEXT_HTML
    assert choose(PIP, "application/vnd.pypi.simple.latest+html") == V1_HTML
    assert choose(PIP, "application/json") is None


def test_format_parameter_keeps_plus_literal():
    assert format_param("format=application/vnd.pypi.simple.v1+json") == V1_JSON
    assert format_param("a=1&format=text%2Fhtml") == TEXT_HTML
    assert format_param("a=1") is None
    assert format_param("") is None
