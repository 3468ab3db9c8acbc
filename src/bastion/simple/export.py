"""``bastion pages export``: the whole read side as a static tree that nginx or a CDN serves alone.

Layout, under a directory or under ``s3://BUCKET/PREFIX/``::

    simple/index.html  simple/index.json                 the project list
    simple/<name>/index.html  simple/<name>/index.json   each project (PEP 503 and PEP 691)
    pypi/<name>/json  pypi/<name>/<version>/json         PyPI's JSON API

The same bytes Bastion serves itself, written by the same functions. Pages of projects and
releases that no longer exist are removed, so exporting again into the same place refreshes it.
A bucket gets each object with its content type; the files are not part of the export (with
object storage they are in the bucket already, under ``files/``).
"""

import shutil
import tempfile
from pathlib import Path

from bastion import datadir
from bastion.simple import jsonapi, services
from bastion.simple.pagecache import PAGE_CACHE_CONTROL
from bastion.simple.pagefiles import write_atomic

S3_SCHEME = "s3://"
CONTENT_TYPES = {
    services.HTML_PAGE: "text/html",
    services.JSON_PAGE: "application/vnd.pypi.simple.v1+json",
    "json": "application/json",
}


def export(destination: str) -> int:
    """Write the tree to a directory or a bucket; returns the number of projects."""
    if not destination.startswith(S3_SCHEME):
        return export_directory(Path(destination))
    bucket, _, prefix = destination.removeprefix(S3_SCHEME).partition("/")
    with tempfile.TemporaryDirectory(prefix="bastion-export-") as staging:
        count = export_directory(Path(staging))
        _upload(Path(staging), bucket, prefix)
    return count


def export_directory(target: Path) -> int:
    count = services.render_all(target)
    root = target / "pypi"
    datadir.make_public_dirs(root)
    exported = set()
    for name in (path.name for path in (target / "simple").iterdir() if path.is_dir()):
        if _write_json_api(root / name, name):
            exported.add(name)
    for stale in root.iterdir():
        if stale.name not in exported:
            shutil.rmtree(stale)
    return count


def _write_json_api(directory: Path, normalized_name: str) -> bool:
    """Write a project's documents; False (and nothing) if it has none (no release, quarantine)."""
    written = set()
    for version, document in jsonapi.every_document(normalized_name):
        path = directory / version / "json" if version else directory / "json"
        datadir.make_public_dirs(path.parent)
        write_atomic(path, jsonapi.json_bytes(document))
        written.add(version)
    for stale in directory.iterdir() if written else ():
        if stale.is_dir() and stale.name not in written:
            shutil.rmtree(stale)
    return bool(written)


def _upload(tree: Path, bucket: str, prefix: str) -> None:
    """Put every file of ``tree`` under ``prefix``, then delete what else the prefix's
    ``simple/`` and ``pypi/`` hold (pages of projects that are gone)."""
    from bastion.packaging.storage_s3 import S3Backend

    remote = S3Backend(bucket, prefix)
    client, prefix = remote.client, remote.prefix
    uploaded = set()
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        key = prefix + path.relative_to(tree).as_posix()
        extra = {"ContentType": CONTENT_TYPES[path.name], "CacheControl": PAGE_CACHE_CONTROL}
        client.upload_file(str(path), bucket, key, ExtraArgs=extra)
        uploaded.add(key)
    pages = client.get_paginator("list_objects_v2")
    for part in ("simple/", "pypi/"):
        for listing in pages.paginate(Bucket=bucket, Prefix=prefix + part):
            listed = (entry["Key"] for entry in listing.get("Contents", ()))
            stale = [key for key in listed if key not in uploaded]
            if stale:
                client.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": key} for key in stale]}
                )
