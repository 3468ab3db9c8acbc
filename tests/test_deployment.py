"""The container files (Dockerfile, compose.yaml, deploy/nginx.conf), checked without Docker."""

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from bastion.cli import build_parser
from tests.tools import require_executable

ROOT = Path(__file__).resolve().parent.parent
BASTION_SERVICES = {"web1", "web2", "worker"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _parses(argv: list[str]) -> None:
    """A command line the image runs must be one ``bastion`` accepts."""
    assert argv[0] == "bastion", argv
    build_parser().parse_args(argv[1:])


def test_compose_names_the_production_shape(compose):
    assert set(compose["services"]) == {
        "nginx", "web1", "web2", "worker", "postgres", "redis", "minio", "minio-init",
    }  # fmt: skip
    for name in BASTION_SERVICES:
        service = compose["services"][name]
        assert service["build"] == "." and service["image"] == "bastion:latest"
        environment = service["environment"]
        assert environment["BASTION_WORKER"] == "external"  # one worker, its own service
        assert environment["BASTION_STORAGE_URL"].startswith("s3://")
        assert environment["BASTION_DATABASE_URL"].startswith("postgresql://")
        _parses(service["command"])
    assert compose["services"]["worker"]["command"] == ["bastion", "worker"]
    assert all("serve" in compose["services"][w]["command"] for w in ("web1", "web2"))


def test_every_file_compose_mounts_exists_and_every_secret_is_in_the_example(compose):
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).is_file(), source
    required = set(re.findall(r"\$\{(\w+):\?", (ROOT / "compose.yaml").read_text()))
    example = (ROOT / "deploy" / "env.example").read_text()
    assert required <= set(re.findall(r"^(\w+)=", example, re.MULTILINE))


def test_nginx_proxies_to_the_web_servers_compose_runs(compose):
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    upstreams = set(re.findall(r"^\s*server\s+(\w+):8000", conf, re.MULTILINE))
    assert upstreams == {"web1", "web2"} <= set(compose["services"])


def test_the_dockerfile_copies_files_that_exist_and_runs_a_bastion_command():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    copies = [shlex.split(line)[1:-1] for line in lines if line.startswith("COPY ")]
    assert copies, "the Dockerfile copies nothing"
    for sources in copies:
        for source in sources:
            assert (ROOT / source).exists(), source
    (cmd,) = [line for line in lines if line.startswith("CMD ")]
    _parses(yaml.safe_load(cmd[len("CMD ") :]))  # the exec form is a JSON (so YAML) list


def test_the_nginx_config_passes_nginx_t(tmp_path):
    nginx = require_executable("nginx")
    # nginx -t resolves upstream host names, which exist only on compose's network.
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    server = tmp_path / "bastion.conf"
    server.write_text(re.sub(r"\bweb[12]:8000", "127.0.0.1:8000", conf))
    main = tmp_path / "nginx.conf"
    temp = tmp_path / "tmp"
    temp.mkdir()
    main.write_text(
        "events {}\nhttp {\n"
        + "".join(f"    {kind}_temp_path {temp};\n" for kind in (
            "client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"    include {server};\n}}\n"
    )  # fmt: skip
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main),
         "-g", f"pid {tmp_path}/nginx.pid; error_log stderr;"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
