"""bastion keys import-codes: idempotent, reports duplicates and bad rows, stores no plain code."""

import json

import pytest
from django.db import connection

from bastion.cli import main
from bastion.keys import services
from bastion.keys.models import PromoCode, Vendor

pytestmark = pytest.mark.django_db


def test_import_loads_codes_encrypted_with_a_digest(codes_file):
    path = codes_file(("TITAN-AAAA-1111", "titan", "de", "july"), ("YUBI-2222", "yubico", "", ""))
    result = services.import_codes(path)
    assert (result.added, result.duplicates, result.bad) == (2, [], [])
    titan = PromoCode.objects.get(vendor__slug="titan")
    assert (titan.country, titan.batch, titan.claimed_by) == ("DE", "july", None)
    assert PromoCode.objects.get(vendor__slug="yubico").country == ""
    assert set(Vendor.objects.values_list("slug", flat=True)) == {"titan", "yubico"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM keys_promocode")
        stored = repr(cursor.fetchall())
    assert "TITAN-AAAA-1111" not in stored and "YUBI-2222" not in stored


def test_importing_the_same_file_twice_adds_nothing(codes_file):
    path = codes_file(("C-1", "titan", "US", "b"), ("C-2", "titan", "US", "b"))
    assert services.import_codes(path).added == 2
    again = services.import_codes(path)
    assert again.added == 0
    assert again.duplicates == [2, 3]  # line numbers, counting the header
    assert PromoCode.objects.count() == 2


def test_duplicates_within_a_file_are_reported_and_loaded_once(codes_file):
    result = services.import_codes(
        codes_file(("C-1", "titan", "", ""), ("C-2", "titan", "", ""), ("C-1", "titan", "GB", ""))
    )
    assert (result.added, result.duplicates) == (2, [4])


def test_a_bad_row_refuses_the_whole_file_and_names_each_line(codes_file):
    path = codes_file(
        ("GOOD-1", "titan", "US", "b"),
        ("BAD-COUNTRY", "titan", "XY", "b"),
        (",titan,US,b"),
        ("HAS SPACE", "titan", "", ""),
        ("C-9", "", "", ""),
        ("C-10,titan,US,b,extra"),
        ("C-11,titan"),
    )
    result = services.import_codes(path)
    assert result.added == 0 and PromoCode.objects.count() == 0
    reasons = dict(result.bad)
    assert "'XY' is not an ISO 3166-1 alpha-2 country code" in reasons[3]
    assert "code is empty" in reasons[4]
    assert "spaces" in reasons[5]
    assert "vendor" in reasons[6]
    assert "4 columns" in reasons[7] and "4 columns" in reasons[8]
    assert 2 not in reasons
    assert not any("BAD-COUNTRY" in reason for reason in reasons.values())


def test_a_wrong_header_is_refused(codes_file):
    with pytest.raises(services.ImportRefused, match="code,vendor,country,batch"):
        services.import_codes(codes_file(("C-1", "titan", "US"), header="code,vendor,country"))


def test_cli_import_reports_and_never_prints_a_code(codes_file, capsys):
    path = codes_file(("SECRET-1", "titan", "US", "b"), ("SECRET-1", "titan", "US", "b"))
    assert main(["keys", "import-codes", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Imported 1 code(s)." in out and "1 duplicate(s) skipped (lines 3)" in out
    assert main(["keys", "import-codes", str(path), "--json"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == {"added": 0, "duplicates": [2, 3], "bad": []}
    bad = codes_file(("SECRET-2", "titan", "ZZ", "b"))
    assert main(["keys", "import-codes", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "line 2: 'ZZ' is not an ISO" in captured.err
    assert "nothing was imported" in captured.out
    assert "SECRET" not in printed + captured.out + captured.err + out


def test_cli_import_of_a_missing_file_fails_clearly(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["keys", "import-codes", str(tmp_path / "nope.csv")])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "no such file" in err and "nope.csv" in err
    assert "[Errno" not in err and err.count("\n") == 1


def test_no_query_ever_carries_a_plain_code(codes_file, critical_maintainer):
    """Import, claim, the report and the reminders: the database only sees ciphertext."""
    from datetime import timedelta

    from django.db import connections
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bastion.keys import selectors
    from bastion.keys.policy import Policy

    path = codes_file(("PLAIN-CODE-1", "titan", "US", "b"), ("PLAIN-CODE-2", "titan", "", "b"))
    user = critical_maintainer()
    with CaptureQueriesContext(connections["default"]) as queries:
        services.import_codes(path)
        code = services.claim(user, country="US")
        selectors.report()
        services.send_reminders(policy=Policy(reminder_days=0), now=timezone.now() + timedelta(1))
    assert services.reveal(code, user) == "PLAIN-CODE-1"
    assert queries.captured_queries
    assert not any("PLAIN-CODE" in query["sql"] for query in queries.captured_queries)
