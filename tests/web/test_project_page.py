"""The project page's band, install commands, links, classifiers, hashes and maintainers."""

import re
from html import unescape

import pytest
from django.urls import reverse

from bastion.packaging.models import Release
from bastion.web import avatars
from tests.factories import add_file, add_release, attest

pytestmark = pytest.mark.django_db


def page_of(client, *args) -> str:
    name = "project_version" if len(args) > 1 else "project"
    return client.get(reverse(name, args=args)).content.decode()


def code_text(html: str, element_id: str) -> str:
    return unescape(re.search(rf'<code id="{element_id}"[^>]*>([^<]+)</code>', html).group(1))


def test_the_install_command_names_this_index_not_pypi(client, world, settings):
    settings.BASE_URL = "https://pkgs.example.org"
    html = page_of(client, "widget")
    assert code_text(html, "install-pip") == (
        "pip install --index-url https://pkgs.example.org/simple/ Widget"
    )
    assert code_text(html, "install-uv") == (
        "uv pip install --index-url https://pkgs.example.org/simple/ Widget"
    )
    assert '<details class="install-uv">' in html  # uv's command is one click away
    assert 'data-copy-target="install-pip"' in html and "web/copy" in html


def test_an_older_release_page_pins_its_version(client, world, settings):
    settings.BASE_URL = "https://pkgs.example.org"
    html = page_of(client, "widget", "1.0")
    assert code_text(html, "install-pip").endswith("/simple/ Widget==1.0")
    assert 'newest is <a href="/project/widget/2.0/">2.0</a>' in html


def test_classifiers_are_grouped_by_kind(client, make_project, alice):
    project = make_project("Sorted", owners=[alice])
    add_release(
        project,
        "1.0",
        classifiers=[
            "Programming Language :: Python :: 3",
            "License :: OSI Approved :: MIT License",
            "Programming Language :: Python :: 3.11",
        ],
    )
    html = page_of(client, "sorted")
    assert (
        '<dl class="classifiers"><dt>License</dt><dd>OSI Approved :: MIT License</dd>'
        "<dt>Programming Language</dt><dd>Python :: 3</dd><dd>Python :: 3.11</dd></dl>"
    ) in html


def test_project_links_carry_recognised_icons(client, make_project, alice):
    project = make_project("Linked", owners=[alice])
    add_release(
        project,
        "1.0",
        home_page="https://example.org/",
        project_urls={
            "Source": "https://github.com/example/linked",
            "Documentation": "https://docs.example.org/",
            "Bug Tracker": "https://gitlab.com/example/linked/-/issues",
            "Mastodon": "https://social.example/@linked",
        },
    )
    html = page_of(client, "linked")
    links = re.findall(r'<a href="([^"]+)" rel="nofollow noopener" class="link-(\w+)"><svg', html)
    assert links == [
        ("https://example.org/", "home"),
        ("https://github.com/example/linked", "github"),
        ("https://docs.example.org/", "docs"),
        ("https://gitlab.com/example/linked/-/issues", "issues"),
        ("https://social.example/@linked", "link"),
    ]


def test_hashes_sit_behind_a_toggle_with_copy_buttons(client, world):
    html = page_of(client, "widget")
    file = Release.objects.get(version="2.0").files.get()
    hashes = html[
        html.index('<details class="hashes">') : html.index(
            "</details>", html.index('<details class="hashes">')
        )
    ]
    for digest in (file.sha256_digest, file.blake2_256_digest, file.md5_digest):
        assert f">{digest}</code>" in hashes
    assert hashes.count("data-copy-target=") == 3


def test_maintainers_have_generated_avatars_and_no_external_images(client, world):
    html = page_of(client, "widget")
    maintainers = html[html.index('<ul class="plain maintainers">') :]
    maintainers = maintainers[: maintainers.index("</ul>")]
    assert maintainers.count('<svg class="avatar"') == 2
    assert ">O</text>" in maintainers and ">M</text>" in maintainers
    assert "<img" not in html and "gravatar" not in html


def test_a_critical_project_says_why_in_a_sentence(client, world, designate):
    designate("widget", enforced=False)
    html = page_of(client, "widget")
    reason = re.search(r'<p class="critical-reason">(.*?)</p>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", reason).split())
    assert "Widget has been critical since" in text
    assert "designated by the admin root: test." in text
    assert "its maintainers must use two-factor authentication" in text


def relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize(
    ("username", "expected"),
    [("olivia", "O"), ("maya-smith", "MS"), ("jane.doe", "JD"), ("BobJones", "BJ"), ("x_", "X")],
)
def test_avatar_initials(username, expected):
    assert avatars.initials(username) == expected


def test_avatar_colours_are_stable_and_white_initials_stay_readable():
    assert avatars.colour("olivia") == avatars.colour("olivia") != avatars.colour("mario")
    for username in ["olivia", "mario", "sam", "maya", "bob", "yellow", "a", "zz"] + [
        f"user{n}" for n in range(200)
    ]:
        contrast = 1.05 / (relative_luminance(avatars.colour(username)) + 0.05)
        assert contrast >= 4.5, username


def test_markdown_heading_permalinks_have_a_name_for_screen_readers(client, make_project, alice):
    project = make_project("Anchored", owners=[alice])
    add_release(
        project, "1.0", description="# Title\n\nText.", description_content_type="text/markdown"
    )
    html = page_of(client, "anchored")
    assert '<a href="#user-content-title" rel="nofollow"></a>' not in html
    assert (
        '<a href="#user-content-title" rel="nofollow" class="permalink">'
        '<span class="visually-hidden">Link to this section</span></a>'
    ) in html


def test_an_attested_file_says_where_it_was_published_from(client, make_project, alice):
    """PyPI's verified details: repository, workflow and commit from the trusted upload's run."""
    project = make_project("Attested", owners=[alice])
    release = add_release(project, "1.0")
    attested = add_file(release, "attested-1.0.tar.gz")
    add_file(release, "attested-1.0-py3-none-any.whl")  # uploaded without attestations
    attest(
        attested,
        repository="octo/attested",
        workflow="release.yml",
        sha="a" * 40,
        run_url="https://github.com/octo/attested/actions/runs/42",
    )

    html = page_of(client, "attested")

    assert html.count("Verified attestation") == 1
    text = " ".join(re.sub(r"<[^>]+>", "", html).split())
    assert f"published from github.com/octo/attested by workflow release.yml at {'a' * 40}" in text
    assert '<a href="https://github.com/octo/attested/actions/runs/42">' in html
    assert '<a href="https://github.com/octo/attested">github.com/octo/attested</a>' in html
