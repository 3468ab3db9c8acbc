"""Distribution files in an S3-compatible bucket (``BASTION_STORAGE_URL=s3://BUCKET[/PREFIX]``).

Layout under the prefix: ``files/<key>`` is public (what ``/files/<key>`` redirects to, and what a
CDN given as ``BASTION_FILES_URL`` fronts), ``withheld/<group>/<key>`` holds a quarantined
project's files. The client is boto3's, configured by the standard AWS variables
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``);
checksums are computed only when an operation requires them, which the S3-compatible stores that
reject boto3's newer default checksums (older MinIO, Ceph) accept.

Objects are never renamed in S3: a move is a copy and a delete. Publishing uploads the staged
file; the token is a random value kept in the object's metadata, so that :meth:`withdraw` deletes
only an object this upload wrote (an identical upload that won the race writes its own token).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from bastion.packaging.storage import StoredObject, content_type_for

if TYPE_CHECKING:  # the stubs are a test dependency
    from types_boto3_s3.type_defs import ObjectTypeDef

#: How long a presigned download URL stays valid; clients follow it at once.
PRESIGNED_SECONDS = 900
_IMMUTABLE = "public, max-age=31536000, immutable"
_TOKEN = "bastion-publish"  # noqa: S105 - a metadata name, not a secret
_DELETE_BATCH = 1000  # DeleteObjects' limit


def _missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in ("404", "NoSuchKey", "NotFound")


class S3Backend:
    serves_by_redirect = True

    def __init__(self, bucket: str, prefix: str = "", *, files_url: str = ""):
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.files_url = files_url.rstrip("/")
        config = Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard"},
        )
        # A session of its own: boto3's default session is not safe to share between threads.
        self.client = boto3.session.Session().client("s3", config=config)

    def round_trip(self, timeout: float) -> str:
        """Write, read back and delete one small object under the prefix, each step waiting at
        most ``timeout`` seconds and not retried: what ``bastion check`` reports. Proves the
        endpoint, the credentials, the bucket and the right to write and delete there."""
        config = Config(
            connect_timeout=timeout, read_timeout=timeout, retries={"total_max_attempts": 1}
        )
        client = boto3.session.Session().client("s3", config=config)
        name = f"{self.prefix}.bastion-check/{secrets.token_hex(8)}"
        client.put_object(Bucket=self.bucket, Key=name, Body=b"bastion check\n")
        try:
            if client.get_object(Bucket=self.bucket, Key=name)["Body"].read() != b"bastion check\n":
                raise RuntimeError(f"s3://{self.bucket}/{name} read back other bytes")
        finally:
            client.delete_object(Bucket=self.bucket, Key=name)
        return f"s3://{self.bucket}/{self.prefix} at {client.meta.endpoint_url}"

    def _public(self, key: str) -> str:
        return f"{self.prefix}files/{key}"

    def _withheld(self, group: str, key: str = "") -> str:
        return f"{self.prefix}withheld/{group}/{key}"

    def _put_args(self, key: str, token: str | None = None) -> dict:
        args: dict[str, str | dict[str, str]] = {
            "ContentType": content_type_for(key),
            "CacheControl": _IMMUTABLE,
        }
        if token:
            args["Metadata"] = {_TOKEN: token}
        return args

    def publish(self, staged: Path, key: str) -> str:
        token = secrets.token_hex(16)
        self.client.upload_file(
            str(staged), self.bucket, self._public(key), ExtraArgs=self._put_args(key, token)
        )
        return token

    def withdraw(self, key: str, token: object, staged: Path) -> None:
        """Delete the object if it still carries our token (the staged file is still there).

        Between the check and the delete, an identical upload could publish again; S3 offers no
        conditional delete everywhere, so this leaves a window of one round trip, after the
        failed transaction, in which the rival's object could go. The rival's row then points at
        nothing; re-uploading the same file repairs it.
        """
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._public(key))
        except ClientError as error:
            if _missing(error):
                return
            raise
        if head.get("Metadata", {}).get(_TOKEN) == token:
            self.client.delete_object(Bucket=self.bucket, Key=self._public(key))

    def store(self, key: str, source: BinaryIO) -> None:
        source.seek(0)
        self.client.upload_fileobj(
            source, self.bucket, self._public(key), ExtraArgs=self._put_args(key)
        )

    def put_object(self, name: str, data: bytes) -> None:
        """Store bytes at ``PREFIX/name``, beside the files: Bastion's own objects (the
        download recorder's segments). boto3 is synchronous, so this also works while the
        interpreter shuts down, when a stopping server flushes its last downloads."""
        self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}{name}", Body=data)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._public(key))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def read(self, key: str) -> bytes:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._public(key))
        except ClientError as error:
            if _missing(error):
                raise FileNotFoundError(key) from error
            raise
        return reply["Body"].read()

    def delete(self, key: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._public(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        self.client.delete_object(Bucket=self.bucket, Key=self._public(key))
        return head["ContentLength"]

    def download_url(self, key: str) -> str:
        """The CDN's URL when ``BASTION_FILES_URL`` is set, else a presigned GET (computed
        locally, no request to the store)."""
        if self.files_url:
            return f"{self.files_url}/{key}"
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._public(key)},
            ExpiresIn=PRESIGNED_SECONDS,
        )

    def _move(self, source: str, target: str) -> bool:
        """Copy then delete; False if there was nothing at ``source``."""
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": source},
                self.bucket,
                target,
                ExtraArgs={"MetadataDirective": "COPY"},
            )
        except ClientError as error:
            if _missing(error):
                return False
            raise
        self.client.delete_object(Bucket=self.bucket, Key=source)
        return True

    def withhold(self, group: str, keys: list[str]) -> None:
        for key in keys:
            self._move(self._public(key), self._withheld(group, key))  # gone: already withheld

    def restore(self, group: str) -> None:
        root = self._withheld(group)
        for item in self._list(root):
            self._move(item["Key"], self._public(item["Key"][len(root) :]))

    def discard(self, group: str, keys: list[str]) -> None:
        names = [name for key in keys for name in (self._public(key), self._withheld(group, key))]
        for start in range(0, len(names), _DELETE_BATCH):
            batch = names[start : start + _DELETE_BATCH]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": name} for name in batch], "Quiet": True},
            )

    def _list(self, prefix: str) -> Iterator[ObjectTypeDef]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Contents", [])

    def objects(self) -> Iterator[StoredObject]:
        withheld = f"{self.prefix}withheld/"
        for root in (self._public(""), withheld):
            for item in self._list(root):
                name = item["Key"]
                key = name[len(root) :]
                if root == withheld:
                    key = key.partition("/")[2]  # past the group
                yield StoredObject(
                    key=key,
                    name=f"s3://{self.bucket}/{name}",
                    modified=item["LastModified"].timestamp(),
                    size=item["Size"],
                )

    def remove(self, stored: StoredObject) -> None:
        name = stored.name.removeprefix(f"s3://{self.bucket}/")
        self.client.delete_object(Bucket=self.bucket, Key=name)
