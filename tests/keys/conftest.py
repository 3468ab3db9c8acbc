"""The key program's world in a few lines: critical maintainers, factors, codes, a policy."""

import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bastion.keys import services
from bastion.keys.policy import Phase, Policy
from bastion.mfa.models import WebAuthnCredential
from bastion.packaging.models import Project, Role, RoleName
from tests import factories

#: PyPI's 2022 giveaway (reference §7), as a policy.
PYPI_PHASES = (
    Phase(start=date(2022, 7, 8), rule="critical-without-2fa"),
    Phase(start=date(2022, 8, 25), rule="critical-without-security-key"),
    Phase(
        start=date(2022, 9, 23),
        rule="account-created-before",
        before=datetime(2022, 9, 23, 20, 20, tzinfo=UTC),
    ),
)
PYPI = Policy(phases=PYPI_PHASES, end_date=date(2022, 10, 1))
OPEN = Policy()  # the default: critical maintainers without 2FA, from the start, no end

_ids = itertools.count(1)


@pytest.fixture
def critical_project(db):
    """A project designated critical (by an admin), hosted here."""

    def make(name: str = "requests") -> Project:
        project = factories.make_project(name)
        factories.designate(name)
        return project

    return make


@pytest.fixture
def maintainer_of(db):
    def make(user, project, role=RoleName.MAINTAINER):
        Role.objects.create(user=user, project=project, role_name=role)
        return user

    return make


@pytest.fixture
def critical_maintainer(make_user, critical_project, maintainer_of):
    """Build an Owner of a critical project, with no second factor yet."""
    project = None

    def make(username: str = "maint"):
        nonlocal project
        project = project or critical_project()
        return maintainer_of(make_user(username), project, RoleName.OWNER)

    return make


def give_key(user, *, passkey: bool = False) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user,
        label=f"key {next(_ids)}",
        credential_id=f"credential-{next(_ids)}",
        public_key=b"not-read-by-the-key-program",
        discoverable=passkey,
    )


@pytest.fixture
def codes_file(tmp_path):
    """Write a CSV of codes; rows are (code, vendor, country, batch) tuples or raw lines."""

    def write(*rows, header: str = "code,vendor,country,batch") -> Path:
        lines = [header] + [row if isinstance(row, str) else ",".join(row) for row in rows]
        path = tmp_path / f"codes-{next(_ids)}.csv"
        path.write_text("\n".join(lines) + "\n")
        return path

    return write


@pytest.fixture
def stock(codes_file):
    """Import ``count`` codes of one vendor for one country ('' = any); returns the codes."""

    def load(count: int, *, vendor: str = "titan", country: str = "", batch: str = "b1"):
        codes = [f"{vendor.upper()}-{country or 'XX'}-{next(_ids):06d}" for _ in range(count)]
        result = services.import_codes(codes_file(*[(c, vendor, country, batch) for c in codes]))
        assert result.added == count and not result.bad
        return codes

    return load
