"""Descriptions are rendered by content type and always sanitized."""

import re

import pytest

from bastion.packaging.readme import render


@pytest.mark.parametrize(
    "content_type", ["", "text/x-rst", "text/markdown", "text/plain", "application/x-unknown"]
)
def test_no_content_type_lets_a_script_through(content_type):
    html = render("<script>alert(1)</script>\n\n<a href='javascript:alert(2)'>x</a>", content_type)
    assert "<script" not in html
    assert not re.search(r"<a [^>]*href=[\"']?javascript:", html), html


def test_markdown_variants():
    assert "<del>gone</del>" in render("~~gone~~", "text/markdown; variant=GFM")
    assert "<del>" not in render("~~gone~~", "text/markdown; variant=CommonMark")


def test_rst_is_the_default_as_in_core_metadata():
    assert "<strong>bold</strong>" in render("**bold**", "")


def test_rst_raw_html_is_refused_and_shown_as_text():
    html = render(".. raw:: html\n\n   <script>alert(1)</script>\n", "text/x-rst")
    assert "<script" not in html and "&lt;script&gt;" in html


def test_plain_text_is_escaped_and_keeps_its_lines():
    assert render("a < b\nc", "text/plain; charset=UTF-8") == "a &lt; b<br>c"


def test_empty_description_renders_nothing():
    assert render("", "text/markdown") == ""


def test_a_fenced_code_blocks_language_is_a_class_not_a_language_tag():
    """UI review finding: ``<pre lang="python">`` is an invalid language tag (axe valid-lang,
    serious) on any project page whose README has a fenced code block."""
    html = render("```python\nprint(1)\n```\n", "text/markdown")
    assert '<pre class="language-python">' in html and " lang=" not in html
