"""Descriptions as old and new build tools write them: unfolded from a header, tried as
reStructuredText, shown as plain text when they are not, refused only when they fail to render
as the content type they declare."""

import pytest

from bastion.packaging.models import Release
from bastion.upload.metadata import unfold_description
from tests.upload import dists

pytestmark = pytest.mark.django_db

#: Every Metadata-Version some twine release sends: twine before 6 read PKG-INFO with pkginfo and
#: sent 2.0 (old bdist_wheel's) unchecked; twine 6 and later refuse 2.0 themselves.
TWINE_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4")
#: 2.0 was never a real metadata version; the index refuses it (see the last test).
ACCEPTED_VERSIONS = tuple(v for v in TWINE_METADATA_VERSIONS if v != "2.0")
#: Description-Content-Type came with 2.1: older metadata cannot declare a type at all.
DECLARING_VERSIONS = ("2.1", "2.2", "2.3", "2.4")

INVALID_RST = "Title\n=====\n\n.. unknown-directive::\n\nThe end."
VALID_RST = "Title\n=====\n\nA list:\n\n* one\n* two\n\n    an indented quote"

HELP_LINK = "/help/#description-content-type"


def setuptools_folded(text: str) -> str:
    """What distutils' and setuptools' ``rfc822_escape`` make of a multi-line description."""
    return text.replace("\n", "\n" + " " * 8)


def spec_folded(text: str) -> str:
    """The core metadata spec's folding (PEP 345), which distlib writes."""
    return text.replace("\n", "\n       |")


def header_sdist(metadata_version: str, description: str, headers=()):
    """An sdist whose PKG-INFO carries the description in its header, as twine sends it."""
    return dists.sdist(
        metadata_version=metadata_version, headers=[*headers, ("Description", description)]
    )


def project_page(client) -> str:
    return client.get("/project/holy-grail/").content.decode()


# Unfolding


@pytest.mark.parametrize(
    "text",
    [
        VALID_RST,
        INVALID_RST,
        "Example::\n\n    import six\n        deeper\n\n\tA tab\n   \nEnd",
        "| A line block\n| on every line",
        "Trailing blank lines\n\n\n",
    ],
)
@pytest.mark.parametrize("fold", [setuptools_folded, spec_folded])
def test_a_folded_description_unfolds_to_what_its_author_wrote(fold, text):
    assert unfold_description(fold(text)) == text


def test_blank_lines_whose_indentation_was_stripped_still_unfold():
    folded = "First\n        second\n\n        third"

    assert unfold_description(folded) == "First\nsecond\n\nthird"


@pytest.mark.parametrize(
    "text",
    [
        "One line only",
        "First\n        indented\nnot indented",
        "First\n       |pipe\n        space",
    ],
)
def test_text_not_folded_one_way_throughout_stays_as_it_is(text):
    assert unfold_description(text) == text


# What the index accepts, keeps and shows


@pytest.mark.parametrize("metadata_version", ACCEPTED_VERSIONS)
def test_undeclared_description_that_is_not_rst_is_accepted_and_shown_as_plain_text(
    uploader, metadata_version
):
    """Core metadata: with no Description-Content-Type, try reStructuredText, else plain text."""
    dist = header_sdist(metadata_version, setuptools_folded(INVALID_RST))

    response = uploader.upload(dist.form())

    assert response.status_code == 200, response.reason_phrase
    assert Release.objects.get().description == INVALID_RST
    assert "=====<br><br>.. unknown-directive::<br>" in project_page(uploader.client)


@pytest.mark.parametrize("fold", [setuptools_folded, spec_folded])
@pytest.mark.parametrize("metadata_version", ACCEPTED_VERSIONS)
def test_folded_description_is_kept_unfolded_and_rendered(uploader, metadata_version, fold):
    """six 1.16.0's case: valid reStructuredText that fails only while it is still folded."""
    dist = header_sdist(metadata_version, fold(VALID_RST))

    response = uploader.upload(dist.form())

    assert response.status_code == 200, response.reason_phrase
    assert Release.objects.get().description == VALID_RST
    page = project_page(uploader.client)
    assert "<li><p>one</p></li>" in page
    assert "<blockquote>\n<p>an indented quote</p>" in page


def test_description_in_the_body_is_kept_verbatim(uploader):
    """Only a header is folded: a body whose lines happen to be indented is the author's text."""
    body = "Intro\n        code line\n        another\n"
    text = dists.metadata_text("holy-grail", "1.0", metadata_version="2.1") + body

    response = uploader.upload(dists.wheel(metadata=text).form())

    assert response.status_code == 200, response.reason_phrase
    assert Release.objects.get().description == body


@pytest.mark.parametrize("metadata_version", DECLARING_VERSIONS)
@pytest.mark.parametrize("where", ["header", "body"])
def test_declared_rst_that_fails_to_render_is_refused_with_the_help_link(
    uploader, metadata_version, where
):
    declared = [("Description-Content-Type", "text/x-rst")]
    if where == "header":
        dist = header_sdist(metadata_version, setuptools_folded(INVALID_RST), declared)
    else:
        text = dists.metadata_text("holy-grail", "1.0", metadata_version, declared)
        dist = dists.wheel(metadata=text + INVALID_RST, metadata_version=metadata_version)

    response = uploader.upload(dist.form())

    assert response.status_code == 400
    assert "The description failed to render for 'text/x-rst'." in response.reason_phrase
    assert HELP_LINK in response.reason_phrase
    assert not Release.objects.exists()


def test_metadata_2_0_is_refused_for_its_version_not_its_description(uploader):
    dist = header_sdist("2.0", setuptools_folded(INVALID_RST))

    response = uploader.upload(dist.form())

    assert response.status_code == 400
    assert "Invalid value for metadata-version" in response.reason_phrase
    assert "'2.0' is not a valid metadata version" in response.reason_phrase
