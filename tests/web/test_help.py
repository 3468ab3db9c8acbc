"""Every ``/help/#anchor`` the code can put in an error message leads to a section of /help/."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import bastion

SOURCE = Path(bastion.__file__).parent
LITERAL_LINK = re.compile(r"/help/#([A-Za-z0-9_-]+)")
HELP_CALL = re.compile(r"""\b_help\(\s*(?:f?["']([^"']*)["'])?""")


def emitted_anchors() -> dict[str, list[str]]:
    """Each anchor the source can emit, with the files that emit it.

    Two shapes exist: a literal ``/help/#anchor`` (in code or templates) and the upload
    services' ``_help("anchor")``. A ``_help`` call without a plain literal could emit anything,
    so it fails here rather than slipping past the check.
    """
    anchors: dict[str, list[str]] = {}
    for path in sorted(SOURCE.rglob("*")):
        if path.suffix not in {".py", ".html", ".txt"} or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        found = LITERAL_LINK.findall(text)
        for match in HELP_CALL.finditer(text):
            if text[: match.start()].endswith("def "):
                continue
            anchor = match.group(1)
            assert anchor and re.fullmatch(r"[A-Za-z0-9_-]+", anchor), (
                f"{path}: _help() must be called with a literal anchor to be checked"
            )
            found.append(anchor)
        for anchor in found:
            anchors.setdefault(anchor, []).append(str(path.relative_to(SOURCE)))
    return anchors


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.sections: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        element_id = dict(attrs).get("id")
        if element_id:
            self.ids.add(element_id)
        if tag == "section" and element_id:
            self._open = element_id
            self.sections[element_id] = ""

    def handle_endtag(self, tag):
        if tag == "section":
            self._open = None

    def handle_data(self, data):
        if self._open:
            self.sections[self._open] += data


@pytest.fixture
def help_page(client) -> _Ids:
    response = client.get("/help/")
    assert response.status_code == 200
    parsed = _Ids()
    parsed.feed(response.content.decode())
    return parsed


def test_the_code_emits_help_links():
    anchors = emitted_anchors()
    assert {"invalid-auth", "apitoken", "file-name-reuse", "project-name"} <= set(anchors)


@pytest.mark.django_db
def test_every_help_link_the_code_emits_has_a_section_on_the_help_page(help_page):
    missing = {
        anchor: files for anchor, files in emitted_anchors().items() if anchor not in help_page.ids
    }
    assert not missing, f"/help/ has no section for: {missing}"


@pytest.mark.django_db
def test_each_help_section_says_what_happened_and_what_to_do(help_page):
    for anchor in emitted_anchors():
        text = " ".join(help_page.sections[anchor].split())
        assert "What happened:" in text and "What to do:" in text, anchor


@pytest.mark.django_db
def test_an_upload_refusal_links_to_a_section_of_the_help_page(client, help_page):
    response = client.post(
        "/legacy/",
        {":action": "file_upload"},
        HTTP_AUTHORIZATION="Basic X19fdG9rZW5fXzpub3BlCg==",
    )
    link = re.search(r"/help/#([A-Za-z0-9_-]+)", response.content.decode())
    assert link, response.content
    assert link.group(1) in help_page.ids


@pytest.mark.django_db
def test_every_page_links_to_help(client):
    assert 'href="/help/"' in client.get("/").content.decode()
