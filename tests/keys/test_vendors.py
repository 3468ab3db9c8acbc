"""Vendors in a promo-code CSV: named as a vendor's export names them, one vendor per name.

The CSV's vendor column is the name people read ("Google Titan"); the short name the offer form
sends ("google-titan") is derived from it. Short names loaded before keep working, and a new name
that looks like a known vendor refuses the file rather than splitting the stock in two.
"""

import pytest

from bastion.cli import main
from bastion.keys import services
from bastion.keys.models import PromoCode, Vendor
from tests.keys.conftest import OPEN

pytestmark = pytest.mark.django_db


def test_a_vendor_given_by_its_display_name_is_loaded(codes_file):
    result = services.import_codes(codes_file(("TITAN-1", "Google Titan", "US", "b")))

    assert (result.added, result.bad) == (1, [])
    vendor = Vendor.objects.get()
    assert (vendor.slug, vendor.name) == ("google-titan", "Google Titan")
    assert PromoCode.objects.get().vendor == vendor


def test_spellings_of_one_name_are_one_vendor_named_as_first_written(codes_file):
    rows = [("C-1", "Google Titan"), ("C-2", "google  titan"), ("C-3", " GOOGLE TITAN")]
    path = codes_file(*[(code, vendor, "", "") for code, vendor in rows])

    assert services.import_codes(path).added == 3

    assert list(Vendor.objects.values_list("slug", "name")) == [("google-titan", "Google Titan")]


def test_a_short_name_loaded_before_keeps_working_and_its_vendor_takes_a_display_name(
    codes_file,
):
    services.import_codes(codes_file(("C-1", "titan", "US", "")))
    Vendor.objects.filter(slug="titan").update(name="Google Titan")  # the operator, in the admin

    result = services.import_codes(
        codes_file(("C-2", "titan", "", ""), ("C-3", "Google Titan", "", ""))
    )

    assert (result.added, result.bad) == (2, [])
    assert list(Vendor.objects.values_list("slug", "name")) == [("titan", "Google Titan")]
    assert PromoCode.objects.filter(vendor__slug="titan").count() == 3


def test_a_legacy_short_name_with_a_dot_still_matches_exactly(codes_file):
    Vendor.objects.create(slug="feitian.tech", name="Feitian")

    assert services.import_codes(codes_file(("C-1", "feitian.tech", "", ""))).added == 1

    assert Vendor.objects.count() == 1


def test_a_new_name_that_looks_like_a_known_vendor_refuses_the_file(codes_file):
    """titan, then Google Titan: two vendors by accident, each with half the stock."""
    services.import_codes(codes_file(("C-1", "titan", "US", "")))

    result = services.import_codes(
        codes_file(("C-2", "Yubico", "", ""), ("C-3", "Google Titan", "", ""))
    )

    assert result.added == 0
    ((line, reason),) = result.bad
    assert line == 3
    assert "'Google Titan' is new but looks like the vendor 'titan'" in reason
    assert "write 'titan'" in reason
    assert list(Vendor.objects.values_list("slug", flat=True)) == ["titan"]
    assert PromoCode.objects.count() == 1


def test_two_new_names_for_one_vendor_in_a_file_refuse_it(codes_file):
    result = services.import_codes(
        codes_file(("C-1", "Titan", "", ""), ("C-2", "Google Titan", "", ""))
    )

    assert result.added == 0
    assert result.bad == [
        (
            3,
            "the vendors 'Titan' (line 2) and 'Google Titan' look like one vendor: write the same "
            "name on both, or, if they are two, add them in the admin first",
        )
    ]
    assert not Vendor.objects.exists()


def test_a_look_alike_vendor_added_in_the_admin_first_is_loaded_into(codes_file):
    services.import_codes(codes_file(("C-1", "titan", "", "")))
    Vendor.objects.create(slug="titan-fips", name="Titan FIPS")

    assert services.import_codes(codes_file(("C-2", "Titan FIPS", "", ""))).added == 1

    assert PromoCode.objects.get(vendor__slug="titan-fips")


@pytest.mark.parametrize(
    ("vendor", "reason"),
    [("---", "the vendor has no letters or digits"), ("x" * 65, "longer than 64 characters")],
)
def test_a_vendor_that_names_nothing_is_a_bad_row(codes_file, vendor, reason):
    result = services.import_codes(codes_file(("C-1", vendor, "", "")))

    assert result.added == 0
    assert reason in result.bad[0][1]


def test_a_code_of_a_display_named_vendor_is_claimed_by_its_short_name(
    codes_file, critical_maintainer
):
    services.import_codes(
        codes_file(("TITAN-1", "Google Titan", "US", ""), ("YUBI-1", "Yubico", "US", ""))
    )

    code = services.claim(critical_maintainer(), country="US", vendor="google-titan", policy=OPEN)

    assert code.vendor.name == "Google Titan"


def test_the_cli_loads_a_vendors_export_with_its_display_name(codes_file, capsys):
    """The finding: `bastion keys import-codes` refused a file whose vendor was Google Titan."""
    path = codes_file(("TITAN-1", "Google Titan", "US", "2026-12"))

    assert main(["keys", "import-codes", str(path)]) == 0

    assert "Imported 1 code(s)." in capsys.readouterr().out
