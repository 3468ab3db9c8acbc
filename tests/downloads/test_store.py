import pytest

from bastion.downloads import store


@pytest.mark.parametrize("opener", [store.connect, store.reader], ids=["import", "reader"])
def test_no_connection_prints_duckdbs_progress_bar(data_dir, capfd, opener):
    """A caller parsing standard output as JSON (the benchmarks, ``--json``) must get only JSON,
    however long a query runs: DuckDB would draw its bar after ``progress_bar_time``."""
    con = opener()
    con.execute("SET progress_bar_time = 0")  # what a query past two seconds would see
    try:
        con.execute("SELECT count(*) FROM range(100000000) t(i) WHERE i % 7 = 3").fetchall()
    finally:
        con.execute("RESET progress_bar_time")  # the reader is this thread's for later tests
    printed = capfd.readouterr()
    assert printed.out == ""
    assert printed.err == ""
