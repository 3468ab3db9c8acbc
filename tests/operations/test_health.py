"""``/healthz``: each quick dependency's state; 503 when a required one fails."""

import socket

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_quick_dependency(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {"database": "ok", "redis": "not configured", "data directory": "ok"}.items() <= (
        body["checks"].items()
    )
    assert "migrations" not in body["checks"] and "smtp" not in body["checks"]  # not quick


def test_healthz_answers_503_naming_a_failing_redis_and_not_its_address(client, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "failing"
    assert response.json()["checks"]["redis"] == "failing"
    assert str(port) not in response.content.decode()


def test_healthz_with_a_reachable_redis_is_healthy(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/14"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "ok"
