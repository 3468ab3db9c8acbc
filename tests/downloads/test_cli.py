"""``bastion downloads …`` as an operator runs it: the summary, --json, and exit codes."""

import json
from datetime import date

import pytest

from bastion.cli import main
from bastion.downloads import services

from .conftest import BAD_ROWS, GOOD_ROWS, MALFORMED_LINES, write_jsonl

pytestmark = pytest.mark.django_db


def test_import_prints_a_summary_with_reasons_and_examples(data_dir, tmp_path, capsys):
    path = write_jsonl(tmp_path / "export.jsonl", GOOD_ROWS + BAD_ROWS, MALFORMED_LINES)
    assert main(["downloads", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "13 rows read, 7 imported, 6 skipped, 2 projects touched" in out
    assert "skipped 2: malformed row" in out and "e.g. [1, 2, 3]" in out
    assert main(["downloads", "import", str(path)]) == 0
    assert "already imported (same content); nothing changed" in capsys.readouterr().out


def test_import_json_and_a_missing_file_fail_the_command(data_dir, tmp_path, capsys):
    good = write_jsonl(tmp_path / "good.jsonl", GOOD_ROWS)
    assert main(["downloads", "import", "--json", str(good), str(tmp_path / "nope.csv")]) == 1
    captured = json.loads(capsys.readouterr().out)
    assert captured["imports"][0]["rows_imported"] == 7
    assert "nope.csv: no such file" in captured["failed"][0]


def test_rollup_reports_the_days_it_rebuilt(data_dir, tmp_path, capsys):
    main(["downloads", "import", str(write_jsonl(tmp_path / "e.jsonl", GOOD_ROWS))])
    capsys.readouterr()
    assert main(["downloads", "rollup", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["days_rebuilt"] == ["2026-03-01", "2026-03-02"]
    assert report["rollup_rows"] == 6
    assert main(["downloads", "rollup"]) == 0
    assert "Nothing new to roll up." in capsys.readouterr().out


def test_bigquery_sql_and_import_rollup(data_dir, tmp_path, capsys):
    assert main(["downloads", "bigquery-sql", "--since", "2026-05-01"]) == 0
    assert "`bigquery-public-data.pypi.file_downloads`" in capsys.readouterr().out
    path = tmp_path / "rollup.csv"
    path.write_text("project_name,day,installer_class,downloads\nrequests,2026-05-01,installer,9\n")
    assert main(["downloads", "import-rollup", str(path)]) == 0
    assert "1 rows read, 1 imported, 0 skipped, 1 projects, 1 day(s)" in capsys.readouterr().out
    assert services.installer_downloads(date(2026, 5, 1), date(2026, 5, 1)) == {"requests": 9}
    assert main(["downloads", "import-rollup", str(path)]) == 0
    assert "already imported" in capsys.readouterr().out
