"""Uploads and two-factor authentication, through the real twine against a live server.

Accounts with 2FA publish with tokens only (a password alone must never be enough), and an
owner's "require 2FA for every maintainer" refuses a maintainer without 2FA, token or not.
"""

import pytest

from tests.e2e.sample import build_project

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"


def give_totp(index, username: str) -> None:
    index.python(
        "import time, pyotp\n"
        "from bastion.accounts.models import User\n"
        "from bastion.mfa import services, totp\n"
        "secret = totp.new_secret()\n"
        f"user = User.objects.get(username='{username}')\n"
        "services.confirm_totp(user, secret=secret, code=pyotp.TOTP(secret).now(),"
        " origin=services.Origin())\n"
    )


def test_a_2fa_account_cannot_upload_with_its_password_but_its_token_works(live_index, tmp_path):
    live_index.bastion(
        "users",
        "create",
        "tfa",
        "--email",
        "tfa@example.com",
        "--verified",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    give_totp(live_index, "tfa")
    built = build_project(tmp_path, "tfa-pkg", "1.0")

    refused = live_index.twine_upload(PASSWORD, built.wheel, username="tfa")
    assert refused.returncode != 0
    assert "403" in refused.output
    assert "Username/password authentication is not supported for uploads" in refused.output

    token = live_index.token("tfa")
    accepted = live_index.twine_upload(token, built.wheel)
    assert accepted.returncode == 0, accepted.output


def test_a_maintainer_without_2fa_cannot_upload_to_an_opt_in_project(live_index, tmp_path):
    owner_token = live_index.user_with_token("olga")
    give_totp(live_index, "olga")
    first = build_project(tmp_path / "1", "optin-pkg", "1.0")
    assert live_index.twine_upload(owner_token, first.wheel).returncode == 0

    maintainer_token = live_index.user_with_token("max")  # user-wide, minted before the opt-in
    live_index.python(
        "from bastion.accounts.models import User\n"
        "from bastion.packaging.models import Project, Role\n"
        "project = Project.objects.get(normalized_name='optin-pkg')\n"
        "Role.objects.create(user=User.objects.get(username='max'), project=project,"
        " role_name='Maintainer')\n"
        "project.requires_two_factor = True\n"
        "project.save()\n"
    )
    second = build_project(tmp_path / "2", "optin-pkg", "1.1")
    refused = live_index.twine_upload(maintainer_token, second.wheel)
    assert refused.returncode != 0
    assert "403" in refused.output
    assert "Project 'optin-pkg' requires every maintainer to use two-factor" in refused.output
    assert f"{live_index.url}/manage/account/two-factor/" in refused.output

    scoped = live_index.bastion("tokens", "create", "max", "--project", "optin-pkg", check=False)
    assert scoped.returncode != 0 and "two-factor" in scoped.stderr

    give_totp(live_index, "max")
    assert live_index.twine_upload(maintainer_token, second.wheel).returncode == 0
