"""``/metrics``: requests by route and status, durations, queues; open only as configured."""

import ipaddress

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bastion.operations import metrics
from bastion.wsgi import application
from tests.simple.wsgi_client import WSGIClient

pytestmark = pytest.mark.django_db


def _samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def _requests(samples, route: str, status: int) -> float:
    key = ("bastion_http_requests_total", (("route", route), ("status", str(status))))
    return samples.get(key, 0.0)


@pytest.fixture
def metrics_on(settings):
    settings.METRICS = "on"


def test_metrics_are_off_by_default(client, settings):
    assert settings.METRICS == "off"
    assert client.get("/metrics").status_code == 404


def test_metrics_open_only_to_the_configured_networks(client, settings):
    settings.METRICS = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    settings.METRICS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1"))
    assert client.get("/metrics").status_code == 200


def test_read_path_and_django_requests_are_counted_by_route_and_status(client, metrics_on):
    before = _samples(client)
    reads = WSGIClient(application)
    for _ in range(3):
        assert reads.get("/simple/no-such-project/").status == 404
    assert reads.get(f"/files/ab/cd/{'0' * 60}/x-1.0.tar.gz").status == 404
    assert client.get("/healthz").status_code == 200
    after = _samples(client)
    assert _requests(after, "simple", 404) - _requests(before, "simple", 404) == 3
    assert _requests(after, "files", 404) - _requests(before, "files", 404) == 1
    assert _requests(after, "healthz", 200) - _requests(before, "healthz", 200) == 1
    assert ("bastion_upload_seconds_count", ()) in after
    assert ("bastion_download_recorder_queue", ()) in after


def test_a_page_render_is_timed(client, metrics_on, settings, tmp_path):
    from bastion.simple import services

    settings.PAGES_DIR = tmp_path / "pages"
    key = ("bastion_page_render_seconds_count", (("page", "root"),))
    before = _samples(client).get(key, 0.0)
    services.render_root()
    assert _samples(client)[key] == before + 1


def test_task_queue_depth_counts_queued_tasks_with_the_database_backend(
    client, metrics_on, settings
):
    from bastion.accounts.mail import deliver_mail

    assert not any(name == "bastion_task_queue_depth" for name, _ in _samples(client))
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    deliver_mail.enqueue("subject", "body", ["a@example.com"])
    deliver_mail.enqueue("subject", "body", ["b@example.com"])
    assert _samples(client)[("bastion_task_queue_depth", ())] == 2


def test_read_path_counts_from_many_threads_are_all_kept():
    import threading

    counts = metrics.RouteCounts()
    before = metrics.REQUESTS.labels("threads-test", "200")._value.get()

    def hammer():
        for _ in range(10_000):
            counts.count("threads-test", 200)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts.sync()
    assert metrics.REQUESTS.labels("threads-test", "200")._value.get() - before == 40_000
