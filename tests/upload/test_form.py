"""Every client's spelling of the upload form reads as the same metadata."""

import pytest
from django.http import QueryDict

from bastion.packaging.models import Release
from bastion.upload import form as upload_form
from bastion.upload.errors import UploadRejected
from tests.upload import dists


def _post(pairs: list[tuple[str, str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in pairs:
        query.appendlist(key, value)
    return query


def test_repeated_keys_make_lists():
    raw = upload_form.parse_metadata(
        _post([("classifiers", "A :: B"), ("classifiers", "C :: D"), ("requires_dist", "x")])
    )

    assert raw["classifiers"] == ["A :: B", "C :: D"]
    assert raw["requires_dist"] == ["x"]


@pytest.mark.parametrize(
    ("form_name", "raw_name"),
    [
        ("provides_extras", "provides_extra"),  # pdm
        ("provides_extra", "provides_extra"),
        ("import_names", "import_names"),  # uv, poetry
        ("import_name", "import_names"),  # PyPI, hatch
        ("import_namespaces", "import_namespaces"),
        ("import_namespace", "import_namespaces"),
        ("classifier", "classifiers"),  # hatch's header name
        ("platform", "platforms"),
        ("supported_platform", "supported_platforms"),
        ("license_file", "license_files"),
    ],
)
def test_aliases(form_name, raw_name):
    assert upload_form.parse_metadata(_post([(form_name, "value")]))[raw_name] == ["value"]


def test_empty_and_unknown_values_mean_absent():
    raw = upload_form.parse_metadata(
        _post([("requires_python", ""), ("license", "UNKNOWN"), ("platform", "UNKNOWN")])
    )

    assert raw == {}


def test_a_single_value_sent_as_a_list_is_one_value():
    raw = upload_form.parse_metadata(_post([("requires_python", ">=3.9"), ("requires_python", "")]))

    assert raw["requires_python"] == ">=3.9"


def test_two_different_values_for_a_single_use_field_refused():
    with pytest.raises(UploadRejected, match="'summary' must be given once"):
        upload_form.parse_metadata(_post([("summary", "a"), ("summary", "b")]))


def test_keywords_and_project_urls():
    raw = upload_form.parse_metadata(
        _post(
            [
                ("keywords", "grail, quest,,swallow"),
                ("project_urls", "Source, https://example.com/src"),
                ("project_urls", "Docs,https://example.com/docs"),
            ]
        )
    )

    assert raw["keywords"] == ["grail", "quest", "swallow"]
    assert raw["project_urls"] == {
        "Source": "https://example.com/src",
        "Docs": "https://example.com/docs",
    }


def test_duplicate_project_url_label_refused():
    with pytest.raises(UploadRejected, match="more than once"):
        upload_form.parse_metadata(
            _post([("project_urls", "A, https://a.example"), ("project_urls", "A, https://b.ex")])
        )


def test_unknown_fields_are_ignored():
    assert upload_form.parse_metadata(_post([("frobnicate", "x"), ("attestations", "[]")])) == {}


@pytest.mark.django_db
def test_uv_style_form_accepted(uploader):
    """uv sends an empty requires_python and the plural import_names."""
    dist = dists.wheel(metadata_version="2.5", headers=[("Import-Name", "holy_grail")])
    form = dist.form(requires_python="", import_names="holy_grail", import_name=None)

    response = uploader.upload(form)

    assert response.status_code == 200, response.reason_phrase
    assert Release.objects.get().import_names == ["holy_grail"]


@pytest.mark.django_db
def test_pdm_style_form_accepted(uploader):
    """pdm sends provides_extras, md5 plus the other digests, and requires_python as a list."""
    dist = dists.wheel(
        headers=[
            ("Provides-Extra", "test"),
            ("Requires-Python", ">=3.9"),
            ("Requires-Dist", 'pytest; extra == "test"'),
        ]
    )
    form = dist.form(
        provides_extra=None,
        provides_extras=["test"],
        requires_python=[">=3.9"],
        md5_digest=dist.md5,
    )

    response = uploader.upload(form)

    assert response.status_code == 200, response.reason_phrase
    release = Release.objects.get()
    assert (release.provides_extra, release.requires_python) == (["test"], ">=3.9")


@pytest.mark.django_db
def test_hatch_style_form_accepted(uploader):
    """hatch sends singular header names for the fields it does not pluralise."""
    dist = dists.wheel(
        metadata_version="2.4",
        headers=[("License-Expression", "MIT"), ("License-File", "LICENSE")],
        extra_files={"holy_grail-1.0.dist-info/licenses/LICENSE": b"MIT"},
    )

    response = uploader.upload(dist.form(pyversion="py3"))

    assert response.status_code == 200, response.reason_phrase


@pytest.mark.django_db
def test_invalid_form_metadata_refused_even_if_archive_is_fine(uploader):
    response = uploader.upload(dists.wheel().form(summary="x" * 513))

    assert response.status_code == 400
    assert "the upload form" in response.reason_phrase
