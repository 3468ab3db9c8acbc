"""The object storage dependency, registered with ``bastion check`` (``bastion.operations``).

With ``BASTION_STORAGE_URL=s3://…`` the files and the download statistics live in a bucket, which
the data directory checks cannot see: one object is written, read back and deleted there.
"""

from django.conf import settings

from bastion.operations.checks import TIMEOUT_SECONDS, dependency, without_credentials
from bastion.packaging import storage


@dependency("object storage", quick=False)
def check_object_storage() -> str | None:
    if not settings.STORAGE_URL.startswith("s3://"):
        return None
    from bastion.packaging.storage_s3 import S3Backend  # boto3 only when configured

    backend = storage.backend()
    assert isinstance(backend, S3Backend)
    try:
        return backend.round_trip(TIMEOUT_SECONDS)
    except Exception as error:
        raise RuntimeError(f"{without_credentials(settings.STORAGE_URL)}: {error}") from error
