"""The argument types of the command line: what each accepts, and the sentence it refuses with."""

from argparse import ArgumentTypeError
from datetime import date

import pytest

from bastion.cli_types import bind_address, existing_file, iso_date, positive_int, whole_number


@pytest.mark.parametrize(
    ("given", "bound"),
    [
        ("127.0.0.1", "127.0.0.1:8000"),  # once a Unix socket file named "127.0.0.1"
        ("127.0.0.1:9000", "127.0.0.1:9000"),
        ("localhost", "localhost:8000"),
        ("index.example.org:80", "index.example.org:80"),
        (":8000", ":8000"),  # every interface, as uWSGI reads it
        ("[::1]", "[::1]:8000"),
        ("[::1]:8001", "[::1]:8001"),
        ("[2001:db8::1]:443", "[2001:db8::1]:443"),
        ("unix:/run/bastion.sock", "/run/bastion.sock"),
        ("unix:bastion.sock", "bastion.sock"),
    ],
)
def test_bind_accepts_a_host_alone_a_host_and_port_and_unix_paths(given, bound):
    assert bind_address(given) == bound


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "got an empty value"),
        ("127.0.0.1:", "expected a port from 1 to 65535"),
        ("127.0.0.1:http", "expected a port from 1 to 65535"),
        ("127.0.0.1:0", "expected a port from 1 to 65535"),
        ("127.0.0.1:65536", "expected a port from 1 to 65535"),
        ("::1", "put an IPv6 address in brackets"),
        ("::1:8000", "put an IPv6 address in brackets"),
        ("[::1", "expected [IPV6] or [IPV6]:PORT"),
        ("[::1]8000", "expected [IPV6] or [IPV6]:PORT"),
        ("[localhost]:80", "'localhost' is not an IPv6 address"),
        ("256.1.1.1", "expected HOST, HOST:PORT, [IPV6]:PORT or unix:PATH"),
        ("bad host", "expected HOST, HOST:PORT, [IPV6]:PORT or unix:PATH"),
        ("/tmp/bastion.sock", "expected HOST, HOST:PORT, [IPV6]:PORT or unix:PATH"),
        ("unix:", "expected a socket path after 'unix:'"),
        ("unix:/tmp/a:b", "cannot contain ':'"),
    ],
)
def test_bind_refuses_what_uwsgi_would_misread(given, message):
    with pytest.raises(ArgumentTypeError) as refused:
        bind_address(given)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_numbers_dates_and_files(tmp_path):
    assert positive_int("3") == 3 and whole_number("0") == 0
    assert iso_date("2026-05-01") == date(2026, 5, 1)
    (tmp_path / "codes.csv").write_text("")
    assert existing_file(str(tmp_path / "codes.csv")) == tmp_path / "codes.csv"


@pytest.mark.parametrize(
    ("kind", "given", "message"),
    [
        (positive_int, "abc", "expected a whole number above 0, got 'abc'"),
        (positive_int, "0", "expected a whole number above 0, got '0'"),
        (positive_int, "-3", "expected a whole number above 0, got '-3'"),
        (positive_int, "²", "expected a whole number above 0, got '²'"),
        (whole_number, "-1", "expected a whole number (0 or more), got '-1'"),
        (iso_date, "yesterday", "expected a date as YYYY-MM-DD, got 'yesterday'"),
        (existing_file, "/nonexistent/codes.csv", "no such file: '/nonexistent/codes.csv'"),
        (existing_file, "/", "not a file: '/'"),
    ],
)
def test_bad_values_are_refused_with_a_plain_sentence(kind, given, message):
    with pytest.raises(ArgumentTypeError) as refused:
        kind(given)
    assert str(refused.value) == message
