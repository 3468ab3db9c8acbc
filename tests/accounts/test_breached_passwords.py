"""The breached-password validator, against a local range API and an offline file."""

import hashlib
import logging

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from bastion.accounts.passwords import BreachedPasswordValidator, breach_count

from .conftest import Route

BREACHED = "correct horse battery staple"
SAFE = "an unlisted passphrase 90210"


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


def range_body(*entries: tuple[str, int]) -> bytes:
    return "\r\n".join(f"{full[5:]}:{count}" for full, count in entries).encode()


@pytest.fixture
def range_api(http_fixture, settings):
    settings.HIBP_URL = http_fixture.url + "/range"
    settings.HIBP_RANGE_FILE = None
    settings.HIBP_TIMEOUT = 0.3
    return http_fixture


def test_a_password_in_the_range_answer_is_refused_and_only_the_prefix_leaves(range_api):
    digest = sha1(BREACHED)
    decoy = digest[:5] + "0" * 35
    range_api.routes[f"/range/{digest[:5]}"] = Route(body=range_body((decoy, 3), (digest, 42)))
    with pytest.raises(ValidationError) as refused:
        BreachedPasswordValidator().validate(BREACHED)
    assert refused.value.code == "password_breached"
    assert range_api.seen == [f"/range/{digest[:5]}"]


def test_a_password_missing_from_the_range_or_listed_as_padding_is_accepted(range_api):
    digest = sha1(SAFE)
    range_api.routes[f"/range/{digest[:5]}"] = Route(body=range_body((digest, 0)))
    BreachedPasswordValidator().validate(SAFE)
    assert breach_count(SAFE) == 0


def test_the_validator_is_part_of_the_configured_password_rules(range_api):
    digest = sha1(BREACHED)
    range_api.routes[f"/range/{digest[:5]}"] = Route(body=range_body((digest, 7)))
    with pytest.raises(ValidationError, match="data breach"):
        validate_password(BREACHED)


def test_a_slow_service_fails_open_with_a_warning(range_api, caplog):
    digest = sha1(BREACHED)
    range_api.routes[f"/range/{digest[:5]}"] = Route(body=range_body((digest, 9)), delay=1)
    with caplog.at_level(logging.WARNING, logger="bastion.accounts.passwords"):
        BreachedPasswordValidator().validate(BREACHED)
    assert "did not answer" in caplog.text
    assert BREACHED not in caplog.text and digest not in caplog.text


def test_an_unreachable_service_fails_open_with_a_warning(settings, caplog):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.HIBP_URL = f"http://127.0.0.1:{port}/range"
    with caplog.at_level(logging.WARNING, logger="bastion.accounts.passwords"):
        BreachedPasswordValidator().validate(BREACHED)
    assert "did not answer" in caplog.text


def test_an_error_status_fails_open(range_api, caplog):
    with caplog.at_level(logging.WARNING):
        BreachedPasswordValidator().validate(BREACHED)  # the fixture answers 404
    assert "did not answer" in caplog.text


def test_nothing_is_asked_when_no_source_is_configured(settings, http_fixture):
    settings.HIBP_URL = None
    settings.HIBP_RANGE_FILE = None
    BreachedPasswordValidator().validate(BREACHED)
    assert http_fixture.seen == []


@pytest.fixture
def offline_file(tmp_path, settings):
    """A sorted file of many hashes, as the Pwned Passwords downloader writes it (CRLF ends)."""
    hashes = {sha1(f"filler {n}"): n + 1 for n in range(2000)}
    hashes[sha1(BREACHED)] = 12
    hashes[sha1("listed without a count")] = None
    hashes[sha1("listed with count zero")] = 0
    lines = [h if count is None else f"{h}:{count}" for h, count in sorted(hashes.items())]
    path = tmp_path / "pwned-passwords-sha1.txt"
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    settings.HIBP_URL = None
    settings.HIBP_RANGE_FILE = str(path)
    return path


def test_the_offline_file_finds_listed_passwords(offline_file):
    assert breach_count(BREACHED) == 12
    assert breach_count("listed without a count") == 1
    assert breach_count("filler 0") == 1 and breach_count("filler 1999") == 2000
    with pytest.raises(ValidationError):
        BreachedPasswordValidator().validate(BREACHED)


def test_the_offline_file_accepts_unlisted_passwords_and_zero_counts(offline_file):
    assert breach_count(SAFE) == 0
    assert breach_count("listed with count zero") == 0
    BreachedPasswordValidator().validate(SAFE)


def test_the_offline_file_ignores_case(tmp_path, settings):
    path = tmp_path / "lower.txt"
    path.write_text("\n".join(sorted([sha1(BREACHED).lower() + ":5", sha1("x").lower()])) + "\n")
    settings.HIBP_URL = None
    settings.HIBP_RANGE_FILE = str(path)
    assert breach_count(BREACHED) == 5 and breach_count("x") == 1 and breach_count(SAFE) == 0


def test_the_file_is_asked_first_and_the_service_after(offline_file, range_api, settings):
    settings.HIBP_RANGE_FILE = str(offline_file)
    assert breach_count(BREACHED) == 12
    assert range_api.seen == []
    breach_count(SAFE)
    assert range_api.seen == [f"/range/{sha1(SAFE)[:5]}"]
