"""The JSON endpoint, the inline SVG chart, and the template tag the project page includes."""

from datetime import date, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from bastion.downloads import charts
from bastion.packaging.models import Project, Role, RoleName
from tests.factories import add_release

from .conftest import seed_rollup

pytestmark = pytest.mark.django_db


@pytest.fixture
def downloads_today(data_dir, tmp_path):
    today = timezone.now().date()
    three_days_ago = (today - timedelta(days=3)).isoformat()
    seed_rollup(
        tmp_path,
        [
            ("demo-pkg", today.isoformat(), "installer", 5),
            ("demo-pkg", today.isoformat(), "mirror", 2),
            ("Demo.Pkg", three_days_ago, "installer", 10),
            ("other", three_days_ago, "installer", 1000),
        ],
    )
    return today


def test_json_endpoint_gives_the_daily_series(client, downloads_today):
    response = client.get("/stats/project/Demo_Pkg.json")
    assert response.status_code == 200
    body = response.json()
    assert body["project"] == "demo-pkg"
    assert body["recent"] == {"last_day": 5, "last_week": 15, "last_month": 15}
    assert len(body["data"]) == 180
    assert body["data"][-1] == {
        "date": downloads_today.isoformat(),
        "installer": 5,
        "mirror": 2,
        "browser": 0,
        "other": 0,
    }
    assert "max-age=300" in response["Cache-Control"]


def test_json_endpoint_answers_zeros_for_a_name_without_downloads(client):
    body = client.get("/stats/project/never-downloaded.json").json()
    assert body["recent"] == {"last_day": 0, "last_week": 0, "last_month": 0}
    assert {entry["installer"] for entry in body["data"]} == {0}


def test_json_endpoint_refuses_invalid_names_and_writes(client):
    assert client.get("/stats/project/-bad-.json").status_code == 404
    assert client.post("/stats/project/demo.json").status_code == 405


def test_the_chart_is_inline_svg_with_a_bar_and_tooltip_per_day():
    first = date(2026, 1, 1)
    series = [
        {
            "date": (first + timedelta(days=i)).isoformat(),
            "installer": i,
            "mirror": 1,
            "browser": 0,
            "other": 0,
        }
        for i in range(180)
    ]
    svg = str(charts.downloads_svg(series))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script" not in svg and "style=" not in svg
    assert svg.count("<title>") == 180
    assert svg.count('fill="#2b6cb0"') == 179  # day 0 has no installs, only a mirror bar
    assert "2026-06-29: 179 installs, 1 other" in svg
    assert "at most 180 on one day" in svg  # the screen reader's summary, in aria-label


def test_the_chart_has_readable_axes_from_zero_to_a_round_top():
    series = [
        {"date": f"2026-01-{day:02d}", "installer": day * 3, "mirror": 1} for day in (1, 2, 3)
    ]
    chart = charts.downloads_chart(series)
    assert chart["y_ticks"] == [10, 5, 0]  # peak 10: the top, its half and zero
    assert chart["x_ticks"] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert chart["total"] == 21 and chart["peak"] == 10 and not chart["empty"]
    tops = [charts.axis_top(peak) for peak in (1, 3, 5, 11, 41, 150, 1139)]
    assert tops == [2, 4, 6, 12, 42, 160, 1200]  # just above the peak, with a whole half


def test_a_chart_without_downloads_is_an_empty_state_not_a_blank_drawing():
    chart = charts.downloads_chart([{"date": "2026-01-01", "installer": 0, "mirror": 0}])
    assert chart == {"empty": True, "days": 1}


def test_the_template_tag_renders_recent_numbers_and_chart(downloads_today):
    html = Template("{% load downloads %}{% project_downloads name %}").render(
        Context({"name": "demo-pkg"})
    )
    assert "<svg" in html and "<dd>15</dd>" in html
    assert "/stats/project/demo-pkg.json" in html
    assert "Downloads per day" in html and "Date (UTC)" in html  # axis titles
    assert "Installs by pip, uv and other installers" in html  # the legend
    assert 'class="swatch installer"' in html and 'class="swatch other"' in html


def test_the_template_tag_says_so_when_there_are_no_downloads(data_dir):
    html = Template("{% load downloads %}{% project_downloads name %}").render(
        Context({"name": "never-downloaded"})
    )
    assert "No downloads in the last 180 days yet." in html and "<svg" not in html


def test_the_project_page_shows_downloads_and_the_chart(client, make_user, downloads_today):
    project = Project.objects.create(name="Demo_Pkg", normalized_name="demo-pkg")
    Role.objects.create(project=project, user=make_user("olivia"), role_name=RoleName.OWNER)
    add_release(project, "1.0")
    html = client.get("/project/demo-pkg/").content.decode()
    assert '<h2 id="downloads-heading">Downloads</h2>' in html
    assert "<dt>Last week</dt><dd>15</dd>" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="downloads-chart"' in html


def test_missing_rollup_files_show_no_downloads_instead_of_failing(client, downloads_today):
    import shutil

    from bastion.downloads import store

    shutil.rmtree(store.rollup_dir())
    body = client.get("/stats/project/demo-pkg.json").json()
    assert body["recent"] == {"last_day": 0, "last_week": 0, "last_month": 0}
