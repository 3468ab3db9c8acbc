"""The designation notice and the grace reminder, byte for byte, for a fixed input.

``golden/designation-mails.txt`` holds what the outbox received before issue 18 made sending
these mails cheaper: every message as the file backend writes it (the same bytes SMTP sends, with
``\\n`` line ends), sorted, with only the ``Date`` and ``Message-ID`` headers masked since they
differ on every send. Any change to how the mails are built must leave it unchanged: the
recipients, subjects, bodies, encodings and header folding people get.

The input covers what could tell two ways of building a message apart: a non-ASCII username and
a non-ASCII explanation in the body (the UTF-8 body encoding), a subject long enough to fold, a
reminder for one project and one for two (``pluralize``, the order by enforcement date), a
maintainer with two-factor authentication (no reminder) and every kind of reason.
"""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core import mail

from bastion.accounts.services import create_user
from bastion.critical import services
from bastion.critical.designation import ByAdmin, ByDependency, ByDownloads
from bastion.critical.models import Designation
from bastion.packaging.services import normalize

GOLDEN = Path(__file__).parent / "golden" / "designation-mails.txt"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"
DESIGNATED = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)
ON = date(2026, 11, 25)
LONG_NAME = "A-Rather_Long.Project-Name-That-Makes-The-Subject-Line-Fold-Over"
VARYING = re.compile(rb"^(Date|Message-ID): .*(\n[ \t].*)*$", re.MULTILINE)


def _masked(message: bytes) -> bytes:
    return VARYING.sub(lambda m: m.group(1) + b": <masked>", message)


def golden() -> list[bytes]:
    return GOLDEN.read_bytes().split(SEPARATOR)[:-1]


@pytest.fixture
def fixed_input(make_project, make_user, enrol_totp):
    alice = make_user("alice")
    zoe = create_user(username="zoë", email="zoe@example.com", verified=True)
    carol = make_user("carol")
    enrol_totp(carol)
    make_project("Top", owners=[alice], maintainers=[zoe])
    make_project(LONG_NAME, owners=[zoe, carol])
    make_project("lib_a", owners=[alice])
    reasons = {
        "top": ByDownloads(
            rank=1,
            downloads=1_234_567,
            ranked_names=500_000,
            cutoff_rank=5_000,
            cutoff_downloads=4_321,
            since="2026-05-26",
            until="2026-11-24",
        ),
        "lib-a": ByDependency(("top", "lib-a")),
        normalize(LONG_NAME): ByAdmin(admin="root", note="we run on it"),
    }
    enforced = {"top": date(2026, 12, 20), "lib-a": date(2026, 12, 15)}
    for name, reason in reasons.items():
        Designation.objects.create(
            normalized_name=name,
            kind=reason.kind,
            reason=reason.as_dict(),
            designated_at=DESIGNATED,
            enforcement_date=enforced.get(name, date(2026, 12, 24)),
        )
    mail.outbox.clear()  # carol's "two-factor method added"


def _send_all() -> tuple[int, int]:
    return services.notify_maintainers(), services.send_grace_reminders(ON)


def test_the_mails_sent_are_the_golden_ones(fixed_input):
    assert _send_all() == (5, 2)
    sent = sorted(_masked(message.message().as_bytes()) for message in mail.outbox)
    assert sent == golden()
    assert sorted(tuple(message.to) for message in mail.outbox) == [
        ("alice@example.com",),
        ("alice@example.com",),
        ("alice@example.com",),
        ("carol@example.com",),
        ("zoe@example.com",),
        ("zoe@example.com",),
        ("zoe@example.com",),
    ]


def test_the_outbox_files_hold_the_golden_mails(fixed_input, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    assert _send_all() == (5, 2)
    written = b"".join(path.read_bytes() for path in sorted(tmp_path.iterdir()))
    assert written.endswith(SEPARATOR)
    assert sorted(_masked(message) for message in written.split(SEPARATOR)[:-1]) == golden()
    assert _send_all() == (0, 0)
    assert b"".join(path.read_bytes() for path in sorted(tmp_path.iterdir())) == written
