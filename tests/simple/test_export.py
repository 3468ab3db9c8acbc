"""``bastion pages export``: a static tree with the very bytes Bastion serves."""

import json

import boto3
import pytest

from bastion import cli
from bastion.packaging.models import Project
from bastion.simple.export import export_directory
from tests.simple import factory

JSON = "application/vnd.pypi.simple.v1+json"


def test_the_export_is_what_bastion_serves(holy_grail, index, client, committed, tmp_path, capsys):
    with committed():
        factory.make_project("Empty")  # listed, but no JSON API without a release
    assert cli.main(["pages", "export", str(tmp_path / "tree")]) == 0
    assert "2 projects" in capsys.readouterr().out
    tree = tmp_path / "tree"
    served = {
        "simple/index.html": index.get("/simple/").body,
        "simple/index.json": index.get("/simple/", accept=JSON).body,
        "simple/holy-grail/index.html": index.get("/simple/holy-grail/").body,
        "simple/holy-grail/index.json": index.get("/simple/holy-grail/", accept=JSON).body,
        "pypi/holy-grail/json": client.get("/pypi/holy-grail/json").content,
        "pypi/holy-grail/1.0/json": client.get("/pypi/holy-grail/1.0/json").content,
        "pypi/holy-grail/0.9/json": client.get("/pypi/holy-grail/0.9/json").content,
    }
    for path, body in served.items():
        assert (tree / path).read_bytes() == body, path
    assert not (tree / "pypi" / "empty").exists()


def test_exporting_again_removes_what_is_gone(holy_grail, tmp_path):
    export_directory(tmp_path)
    holy_grail.releases.get(version="0.9").delete()
    export_directory(tmp_path)
    assert sorted(p.name for p in (tmp_path / "pypi" / "holy-grail").iterdir()) == ["1.0", "json"]
    Project.objects.filter(pk=holy_grail.pk).delete()
    export_directory(tmp_path)
    assert list((tmp_path / "pypi").iterdir()) == []
    assert json.loads((tmp_path / "simple" / "index.json").read_bytes())["projects"] == []


@pytest.mark.usefixtures("s3_storage")
def test_an_export_to_a_bucket_has_content_types_and_drops_stale_objects(holy_grail, tmp_path):
    bucket = boto3.client("s3")
    bucket.put_object(Bucket="bastion-test", Key="site/pypi/gone/json", Body=b"{}")
    assert cli.main(["pages", "export", "s3://bastion-test/site"]) == 0
    keys = {
        entry["Key"]
        for entry in bucket.list_objects_v2(Bucket="bastion-test", Prefix="site/")["Contents"]
    }
    assert "site/pypi/gone/json" not in keys
    expected_types = {
        "site/simple/index.html": "text/html",
        "site/simple/holy-grail/index.json": JSON,
        "site/pypi/holy-grail/json": "application/json",
    }
    for key, content_type in expected_types.items():
        assert bucket.head_object(Bucket="bastion-test", Key=key)["ContentType"] == content_type
    listed = json.loads(
        bucket.get_object(Bucket="bastion-test", Key="site/simple/index.json")["Body"].read()
    )
    assert [p["name"] for p in listed["projects"]] == ["Holy_Grail"]
