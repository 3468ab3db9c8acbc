"""POST /legacy/ on a critical project: a notice during grace, a 403 with the fix afterwards."""

import pytest
from django.test import Client

from bastion import authz
from bastion.tokens.services import create_token
from tests.upload import dists
from tests.upload.conftest import Uploader

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploader(alice, settings, tmp_path):
    settings.FILES_DIR = tmp_path / "files"
    minted = create_token(actor=authz.Actor(alice), name="uploads")
    return Uploader(Client(), alice, minted.secret)


def test_grace_period_upload_succeeds_with_a_notice_in_the_body(uploader, designate):
    assert uploader.upload(dists.wheel("holy-grail", "1.0").form()).status_code == 200
    designation = designate("holy-grail", enforced=False)
    response = uploader.upload(dists.wheel("holy-grail", "1.1").form())
    assert response.status_code == 200
    body = response.content.decode()
    assert "'holy-grail' is critical" in body
    assert designation.enforcement_date.isoformat() in body
    assert "/manage/account/two-factor/" in body


def test_after_enforcement_the_upload_is_refused_with_the_reason(uploader, designate):
    assert uploader.upload(dists.wheel("holy-grail", "1.0").form()).status_code == 200
    designate("holy-grail")
    response = uploader.upload(dists.wheel("holy-grail", "1.1").form())
    assert response.status_code == 403
    assert "'holy-grail' is critical" in response.reason_phrase
    assert "two-factor authentication" in response.reason_phrase


def test_a_critical_name_not_hosted_yet_cannot_be_created_without_2fa(uploader, designate):
    designate("holy-grail", enforced=False)
    response = uploader.upload(dists.wheel("Holy_Grail", "1.0").form())
    assert response.status_code == 403
    assert "'Holy_Grail' is critical" in response.reason_phrase


def test_an_ordinary_upload_body_stays_empty(uploader):
    assert uploader.upload(dists.wheel("holy-grail", "1.0").form()).content == b""
