from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.cache import caches
from django.test import Client

from bastion import authz
from bastion.accounts.services import create_user
from bastion.downloads import recorder
from bastion.mfa import reauth
from bastion.packaging import storage
from tests import e2e_progress, factories


@pytest.hookimpl(trylast=True)  # after the terminal reporter is set up
def pytest_configure(config):
    e2e_progress.register(config)


@pytest.fixture
def make_user(db):
    """Build a user with a verified primary email in one line."""

    def make(username: str = "alice", *, verified: bool = True, **kwargs):
        return create_user(
            username=username, email=f"{username}@example.com", verified=verified, **kwargs
        )

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def make_project(db):
    """:func:`tests.factories.make_project`: a project with its people and releases."""
    return factories.make_project


@pytest.fixture
def enrol_totp(db):
    """:func:`tests.factories.enrol_totp`: give a user an authenticator app; returns its secret."""
    return factories.enrol_totp


@pytest.fixture
def designate(db):
    """:func:`tests.factories.designate`: make a name critical, enforced or in its grace period."""
    return factories.designate


class MailQueue:
    """Mail handed to the task queue and not yet sent.

    ``with queue.committed():`` runs a change and then its on-commit callbacks, as a real commit
    would; ``deliver()`` then runs the queued tasks, as ``bastion worker`` would.
    """

    def __init__(self, backend, capture):
        self.backend = backend
        self.committed = lambda: capture(execute=True)

    def tasks(self) -> list[str]:
        return [result.task.name for result in self.backend.results]

    def deliver(self) -> list:
        """Send what was queued; the outbox must be empty until then (no request sends mail)."""
        assert mail.outbox == [], "mail was sent at once, not through the task queue"
        for result in self.backend.results:
            result.task.call(*result.args, **result.kwargs)
        self.backend.clear()
        return mail.outbox


@pytest.fixture
def mail_queue(settings, django_capture_on_commit_callbacks) -> MailQueue:
    """Tasks wait in django-tasks' dummy backend until the test delivers them."""
    from django_tasks import default_task_backend

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return MailQueue(default_task_backend, django_capture_on_commit_callbacks)


@pytest.fixture
def admin_user(make_user, enrol_totp):
    """The operator ("root"): an administrator with an authenticator app, as the admin needs."""
    root = make_user("root", admin=True)
    enrol_totp(root)
    return root


@pytest.fixture
def admin_client(admin_user) -> Client:
    """A client signed in as :func:`admin_user`, with a password-and-factor confirmation in the
    last 15 minutes, so the admin opens for it."""
    client = Client()
    client.force_login(admin_user)
    session = client.session
    reauth.mark_recent_auth(SimpleNamespace(session=session), "totp")
    session.save()
    return client


@pytest.fixture
def actor_for():
    def make(user, token=None):
        return authz.Actor(user=user, token=token)

    return make


@pytest.fixture
def fresh_rate_limits(django_db_setup, django_db_blocker):
    """No rate limit used before or after the test.

    The counters live in a database table (the ``ratelimit`` cache) that a transactional test's
    flush does not empty, so they are cleared explicitly.
    """

    def clear():
        with django_db_blocker.unblock():
            caches["ratelimit"].clear()
            caches["default"].clear()

    clear()
    yield
    clear()


@pytest.fixture(autouse=True)
def _no_rate_limit_outlives_a_transactional_test(request, django_db_blocker):
    """A transactional test's flush leaves the rate limits' table (it is no model's): empty it,
    or uploads from 127.0.0.1 in one test would count against projects created in the next."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames):
        with django_db_blocker.unblock():
            caches["ratelimit"].clear()


@pytest.fixture(autouse=True)
def _downloads_are_written_where_their_test_counted_them(settings):
    """The recorder's queue is one per process and its thread flushes every few seconds into
    whatever data directory the settings name then: without this, a download a test served
    would land in the next test's directory, and that test's rollup would count it."""
    yield
    recorder.flush()


@pytest.fixture
def s3_storage(settings, monkeypatch):
    """Object storage for this test: moto's in-process S3 behind ``BASTION_STORAGE_URL=s3://``."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(storage, "_remote", {})  # a client made inside the mock
    local = settings.STORAGE_URL
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="bastion-test")
        settings.STORAGE_URL = "s3://bastion-test/index"
        settings.FILES_URL = ""
        yield storage.backend()
        # Downloads the test counted are written now, into the mock: the recorder's thread would
        # otherwise flush them once the mock is gone, to the real S3 endpoint.
        recorder.flush()
        settings.STORAGE_URL = local


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 on a loopback port, for clients that mock_aws cannot intercept (s3fs, whose
    aiohttp requests DuckDB makes): the endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, settings, monkeypatch):
    """``BASTION_STORAGE_URL=s3://…`` on a fresh bucket of :func:`s3_server`: its boto3 client."""
    import uuid

    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setattr(storage, "_remote", {})  # a client for this endpoint
    bucket = f"bastion-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    settings.STORAGE_URL = f"s3://{bucket}/index"
    settings.FILES_URL = ""
    return SimpleNamespace(client=client, name=bucket, prefix="index/")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` belong to the PostgreSQL leg; on SQLite they are deselected.

    They are deselected rather than skipped because ``BASTION_REQUIRE_TOOLS=1`` turns skips into
    failures, and the SQLite leg is not where they run. ``.ci/run`` runs them in its second leg.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    kept = [item for item in items if item.get_closest_marker("postgres") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
