"""The uWSGI command line that ``bastion serve`` runs, for each of its choices."""

import os
import re
import subprocess
import sys

from bastion.server import (
    Options,
    banner,
    cpu_for_worker,
    pin_worker_threads,
    uwsgi_arguments,
    worker_command,
)


def _value(arguments: list[str], option: str) -> str:
    return arguments[arguments.index(option) + 1]


def test_by_default_requests_are_logged_and_uwsgi_chatter_is_dropped():
    arguments = uwsgi_arguments(bind="127.0.0.1:8000")
    assert "--disable-logging" not in arguments
    assert _value(arguments, "--log-format").startswith("%(addr) - - [%(ltime)]")
    assert "--log-drain" in arguments


def test_the_graceful_stop_on_sigterm_is_quiet():
    arguments = uwsgi_arguments(bind="127.0.0.1:8000")
    assert _value(arguments, "--hook-master-start") == "unix_signal:15 gracefully_kill_them_all"
    drain = re.compile(_value(arguments, "--log-drain"))
    for line in (
        'running "unix_signal:15 gracefully_kill_them_all" (master-start)...',
        "Thu Dec  3 18:00:49 2026 - graceful shutdown triggered...",
        "Gracefully killing worker 1 (pid: 4242)...",
    ):
        assert drain.match(line), line
    assert not drain.match('127.0.0.1 - - [03/Dec/2026:18:00:48 +0000] "GET /healthz HTTP/1.1"')


def test_verbose_keeps_uwsgi_chatter_and_the_access_log_can_be_turned_off():
    arguments = uwsgi_arguments(bind="x:1", options=Options(verbose=True, access_log=False))
    assert "--log-drain" not in arguments
    assert "--disable-logging" in arguments
    assert "--log-5xx" in arguments  # server errors are still shown


def test_the_built_in_worker_is_a_daemon_of_the_master_unless_external():
    builtin = uwsgi_arguments(bind="x:1")
    assert _value(builtin, "--attach-daemon2") == (
        f"cmd={worker_command()},stopsignal=15,reloadsignal=15"
    )
    assert "--attach-daemon2" not in uwsgi_arguments(
        bind="x:1", options=Options(builtin_worker=False)
    )


def test_the_banner_names_the_address_the_admin_and_the_worker():
    line = banner(bind="127.0.0.1:8000", public_url="https://pkgs.example", options=Options())
    assert line.startswith("Bastion listening on http://127.0.0.1:8000/ ")
    assert "https://pkgs.example/admin/" in line
    assert "worker: built in" in line
    arguments = uwsgi_arguments(bind="127.0.0.1:8000", banner_line=line)
    assert _value(arguments, "--hook-accepting1-once") == f"print:{line}"


def test_the_banner_names_a_unix_socket_and_all_interfaces_plainly():
    options = Options()
    assert "on the Unix socket /run/bastion.sock " in banner(
        bind="/run/bastion.sock", public_url="https://p.example", options=options
    )
    assert "on http://0.0.0.0:8000/ " in banner(bind=":8000", public_url="x", options=options)


def test_a_server_process_does_not_load_what_only_rare_paths_need(tmp_path):
    """Each uWSGI worker imports the WSGI application and, on its first Django request, every
    URL's views. DuckDB (download statistics), pypi-attestations with sigstore, TUF and boto3
    (uploads that carry attestations), py_webauthn (security keys), docutils (reStructuredText
    descriptions), PyJWT and cryptography (trusted publishing's token exchange, TOTP secrets:
    12.6 MiB) cost a worker tens of MiB and seconds of start-up, so they are imported only by
    the code that uses them."""
    script = (
        "import sys\n"
        "import bastion.wsgi\n"
        "from django.urls import get_resolver\n"
        "get_resolver().url_patterns\n"
        "heavy = ('duckdb', 'fsspec', 'pypi_attestations', 'sigstore', 'boto3', 'webauthn',\n"
        "         'docutils', 'jwt', 'cryptography')\n"
        "print(' '.join(name for name in heavy if name in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env.update(BASTION_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="bastion.settings")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == []


def test_the_workers_take_the_allowed_cpus_in_turn():
    """The CPUs the server may use (a container's cpuset), not the machine's numbering."""
    assert [cpu_for_worker(worker, [3, 2]) for worker in (1, 2, 3, 4)] == [2, 3, 2, 3]


def test_a_process_outside_uwsgi_is_not_pinned():
    assert pin_worker_threads() is None
