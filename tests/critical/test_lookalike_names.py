"""A critical name, hosted here or not, cannot be pre-empted by a name that looks like it."""

import pytest
from django.utils import timezone

from bastion import authz
from bastion.authz.creation import create_project
from bastion.packaging.models import Project
from bastion.packaging.services import PackagingError

pytestmark = pytest.mark.django_db


@pytest.fixture
def mallory(make_user, enrol_totp):
    """A squatter who did everything right: verified address and a second factor."""
    user = make_user("mallory")
    enrol_totp(user)
    return user


@pytest.mark.parametrize("lookalike", ["ghostpkg", "GhostPkg", "gh0st.pkg", "ghost_p-k-g"])
def test_a_lookalike_of_a_critical_name_not_hosted_here_is_refused(designate, mallory, lookalike):
    designate("ghost-pkg", enforced=False)  # designated from imported downloads, no upload yet
    with pytest.raises(PackagingError, match="too similar to 'ghost-pkg'") as refused:
        create_project(actor=authz.Actor(mallory), name=lookalike)
    assert refused.value.status == 400
    assert not Project.objects.exists()


def test_after_the_refusal_the_rightful_maintainer_creates_the_critical_name(
    designate, mallory, alice, enrol_totp
):
    designate("ghost-pkg", enforced=False)
    with pytest.raises(PackagingError, match="too similar"):
        create_project(actor=authz.Actor(mallory), name="ghostpkg")
    with pytest.raises(authz.Refused) as mandate:
        create_project(actor=authz.Actor(alice), name="Ghost-Pkg")  # today's rule: 2FA first
    assert mandate.value.code == authz.Code.TWO_FACTOR_REQUIRED
    enrol_totp(alice)
    project = create_project(actor=authz.Actor(alice), name="Ghost-Pkg")
    assert project.normalized_name == "ghost-pkg"


def test_a_lookalike_of_a_deleted_critical_project_is_refused_and_its_maintainers_recreate_it(
    designate, make_project, mallory, alice, enrol_totp
):
    designate("atomicwrites")
    Project.objects.get(pk=make_project("atomicwrites", owners=[alice]).pk).delete()
    with pytest.raises(PackagingError, match="too similar to 'atomicwrites'"):
        create_project(actor=authz.Actor(mallory), name="atomic-writes")
    enrol_totp(alice)
    assert create_project(actor=authz.Actor(alice), name="AtomicWrites").name == "AtomicWrites"


def test_a_lookalike_of_an_admin_designation_is_refused(designate, mallory):
    designate("leftpad")  # the fixture designates as an admin does
    with pytest.raises(PackagingError, match="too similar to 'leftpad'"):
        create_project(actor=authz.Actor(mallory), name="1eft-pad")


def test_a_name_that_is_itself_critical_is_not_refused_for_resembling_another(
    designate, alice, enrol_totp
):
    designate("foo-bar")  # two critical names that look alike, both rightful
    designate("foobar")
    enrol_totp(alice)
    assert create_project(actor=authz.Actor(alice), name="foobar").normalized_name == "foobar"


def test_a_removed_designation_frees_its_lookalikes(designate, mallory):
    designation = designate("ghost-pkg")
    designation.removed_at = timezone.now()
    designation.save()
    assert create_project(actor=authz.Actor(mallory), name="ghostpkg").name == "ghostpkg"
