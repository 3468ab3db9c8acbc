"""Project pages: the public project page and the owners' management pages.

Views parse and respond; :mod:`bastion.authz.management` acts and asks the gate. Every
management view is wrapped in :func:`bastion.web.gate.project_action`, which refuses non-owners
with a 403 before anything else happens (even for a method the view does not accept).
"""

from collections.abc import Callable
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bastion import authz
from bastion.accounts.http import SignedInRequest
from bastion.authz import Action, management
from bastion.mfa.reauth import require_recent_auth, require_recent_auth_to_change
from bastion.packaging import presentation, selectors
from bastion.packaging.forms import (
    DeleteFileForm,
    DeleteProjectForm,
    DeleteReleaseForm,
    InviteForm,
    SettingsForm,
    YankForm,
)
from bastion.packaging.models import Project, Role, RoleInvitation
from bastion.packaging.readme import render_release
from bastion.packaging.services import PackagingError, find_release, get_project
from bastion.publishing.attestations import published_from
from bastion.web.gate import actor, origin, project_action, raise_if_gone, refuse_decision

# -- public pages -------------------------------------------------------------------------------


def project_page(request: HttpRequest, name: str, version: str | None = None) -> HttpResponse:
    """A project's description, releases, files with hashes, maintainers and links."""
    project = get_project(name)
    if project is None:
        raise Http404(f"There is no project named '{name}'.")
    if name != project.normalized_name:
        args = [project.normalized_name, *([version] if version else [])]
        return redirect("project_version" if version else "project", *args, permanent=True)
    releases = selectors.releases_newest_first(project)
    newest = selectors.current_release(releases)
    if version is None:
        release = newest
    else:
        release = find_release(project, version)
        if release is None:
            raise Http404(f"Project '{project.name}' has no release '{version}'.")
    context = {
        "project": project,
        "releases": releases,
        "release": release,
        "newest": newest,
        "description": render_release(release) if release else "",
        "links": presentation.project_links(release.home_page, release.project_urls)
        if release
        else [],
        "classifiers": presentation.classifier_groups(release.classifiers) if release else [],
        "install": presentation.install_commands(
            project.name, release.version if release and release != newest else None
        ),
        "roles": selectors.maintainers(project),
        "files": _files_with_provenance(release),
    }
    return render(request, "packaging/project.html", context)


def _files_with_provenance(release) -> list[tuple]:
    """The release's files, each with where it was built when its upload carried attestations."""
    if release is None:
        return []
    files = list(release.files.all())
    built = published_from([file.pk for file in files])
    return [(file, built.get(file.pk)) for file in files]


# -- the user's own projects and invitations ----------------------------------------------------


@login_required
def my_projects(request: HttpRequest) -> HttpResponse:
    listed = selectors.listed_projects_of(request.user)
    context = {
        "page": Paginator(listed, selectors.PAGE_SIZE).get_page(request.GET.get("page")),
        "invitations": selectors.pending_invitations(request.user),
    }
    return render(request, "packaging/manage/projects.html", context)


@login_required
@require_POST
def answer_invitation(request: SignedInRequest, invitation_id: int, answer: str) -> HttpResponse:
    """Accept or decline an invitation addressed to the signed-in user."""
    invitation = get_object_or_404(
        RoleInvitation.objects.select_related("project"), pk=invitation_id, invitee=request.user
    )
    respond = management.accept_invitation if answer == "accept" else management.decline_invitation
    try:
        respond(actor=actor(request), invitation=invitation, origin=origin(request))
    except PackagingError as error:
        raise_if_gone(error)
        messages.error(request, error.message)
        return redirect("my_projects")
    project = invitation.project.name
    if answer == "accept":
        messages.success(request, f"You are now {invitation.role_name} of {project}.")
    else:
        messages.success(request, f"You declined the invitation to {project}.")
    return redirect("my_projects")


# -- releases: yank, unyank, delete --------------------------------------------------------------


@project_action(Action.YANK)
def manage_project(request: HttpRequest, project: Project) -> HttpResponse:
    context = {"project": project, "releases": selectors.releases_newest_first(project)}
    return render(request, "packaging/manage/releases.html", context)


def _release_or_404(project: Project, version: str):
    release = find_release(project, version)
    if release is None:
        raise Http404(f"Project '{project.name}' has no release '{version}'.")
    return release


def _release_page(request, project, release, status=200, **forms) -> HttpResponse:
    """The release page, with any bound form that failed in place of its empty twin."""
    context = {
        "project": project,
        "release": release,
        "files": release.files.all(),
        "yank_form": forms.get("yank_form") or YankForm(),
        "delete_form": forms.get("delete_form") or DeleteReleaseForm(auto_id=_DELETE_RELEASE_IDS),
        "file_forms": [
            (file, _file_form(forms.get("file_form"), file)) for file in release.files.all()
        ],
    }
    return render(request, "packaging/manage/release.html", context, status=status)


#: The release page holds a yank form, a deletion form and one form per file, each with a
#: reason: ids of their own, so each label leads to its own field.
_DELETE_RELEASE_IDS = "id_delete_%s"


def _file_ids(file) -> str:
    return f"id_%s_{file.pk}"


def _file_form(failed: DeleteFileForm | None, file) -> DeleteFileForm:
    if failed is not None and failed.data.get("filename") == file.filename:
        return failed
    return DeleteFileForm(initial={"filename": file.filename}, auto_id=_file_ids(file))


@project_action(Action.YANK)
def manage_release(request: HttpRequest, project: Project, version: str) -> HttpResponse:
    return _release_page(request, project, _release_or_404(project, version))


@project_action(Action.YANK)
@require_POST
def yank_release(request: HttpRequest, project: Project, version: str) -> HttpResponse:
    release = _release_or_404(project, version)
    form = YankForm(request.POST)
    if not form.is_valid():
        return _release_page(request, project, release, status=400, yank_form=form)
    return _set_yanked(request, project, release, yanked=True, reason=form.cleaned_data["reason"])


@project_action(Action.YANK)
@require_POST
def unyank_release(request: HttpRequest, project: Project, version: str) -> HttpResponse:
    release = _release_or_404(project, version)
    return _set_yanked(request, project, release, yanked=False, reason="")


def _set_yanked(request, project, release, *, yanked: bool, reason: str) -> HttpResponse:
    try:
        management.set_yanked(
            actor=actor(request),
            project=project,
            version=release.version,
            yanked=yanked,
            reason=reason,
            origin=origin(request),
        )
    except PackagingError as error:
        raise_if_gone(error)
        return _release_page(request, project, release, 400)
    verb = "Yanked" if yanked else "Unyanked"
    messages.success(request, f"{verb} {project.name} {release.version}.")
    return redirect("manage_release", project.normalized_name, release.version)


def _confirmed_deletion(request, form, delete, done) -> HttpResponse | None:
    """Run a deletion its form confirms: ``done()``'s response after it, the gate's refusal, or
    None when the form must be shown again with why (its own errors or the service's message)."""
    if not form.is_valid():
        return None
    try:
        delete(**form.cleaned_data)
    except PackagingError as error:
        raise_if_gone(error)
        form.add_error("confirm", error.message)
        return None
    return done()


def _done(request, message: str, *redirect_to) -> Callable[[], HttpResponse]:
    def respond() -> HttpResponse:
        messages.success(request, message)
        return redirect(*redirect_to)

    return respond


@project_action(Action.DELETE)
@require_POST
@require_recent_auth
def delete_release(request: SignedInRequest, project: Project, version: str) -> HttpResponse:
    release = _release_or_404(project, version)
    form = DeleteReleaseForm(request.POST, auto_id=_DELETE_RELEASE_IDS)
    delete = partial(
        management.delete_release,
        actor=actor(request),
        project=project,
        version=release.version,
        origin=origin(request),
    )
    done = _done(
        request,
        f"Deleted {project.name} {release.version}.",
        "manage_project",
        project.normalized_name,
    )
    return _confirmed_deletion(request, form, delete, done) or _release_page(
        request, project, release, status=400, delete_form=form
    )


@project_action(Action.DELETE)
@require_POST
@require_recent_auth
def delete_file(request: SignedInRequest, project: Project, version: str) -> HttpResponse:
    release = _release_or_404(project, version)
    file = release.files.filter(filename=request.POST.get("filename", "")).first()
    form = DeleteFileForm(request.POST, auto_id=_file_ids(file) if file else "id_%s")
    delete = partial(
        management.delete_file, actor=actor(request), project=project, origin=origin(request)
    )
    done = _done(
        request,
        f"Deleted {request.POST.get('filename', '').strip()}.",
        "manage_release",
        project.normalized_name,
        release.version,
    )
    return _confirmed_deletion(request, form, delete, done) or _release_page(
        request, project, release, status=400, file_form=form
    )


# -- roles and invitations ------------------------------------------------------------------------


def _roles_page(request, project, form=None, status=200) -> HttpResponse:
    context = {
        "project": project,
        "roles": selectors.maintainers(project),
        "invitations": project.invitations.select_related("invitee", "invited_by"),
        "form": form or InviteForm(),
    }
    return render(request, "packaging/manage/roles.html", context, status=status)


@project_action(Action.MANAGE_ROLES)
@require_recent_auth_to_change
def manage_roles(request: SignedInRequest, project: Project) -> HttpResponse:
    """List the roles and pending invitations; POST invites someone."""
    if request.method != "POST":
        return _roles_page(request, project)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = management.invite(
                actor=actor(request), project=project, origin=origin(request), **form.cleaned_data
            )
        except PackagingError as error:  # no such user, already invited: said beside the field
            form.add_error("username", error.message)
        else:
            messages.success(
                request,
                f"Invited {invitation.invitee.username} as {invitation.role_name}. "
                "They have 7 days to accept.",
            )
            return redirect("manage_roles", project.normalized_name)
    return _roles_page(request, project, form, status=400)


def _on_role(request, project: Project, role_id: int, change, success: str) -> HttpResponse:
    """Apply ``change`` to one role of the project and report back on the roles page.

    ``success`` is formatted with the role after the change (``{role.role_name}`` and so on).
    """
    role = get_object_or_404(Role.objects.select_related("user"), pk=role_id, project=project)
    try:
        change(role)
    except authz.Refused as refused:
        if refused.code != authz.Code.LAST_OWNER:
            return refuse_decision(request, refused.decision)
        messages.error(request, refused.reason)  # said on the roles page, as a form error is
    except PackagingError as error:
        raise_if_gone(error)
        messages.error(request, error.message)
    else:
        messages.success(request, success.format(role=role))
    return redirect("manage_roles", project.normalized_name)


@project_action(Action.MANAGE_ROLES)
@require_POST
@require_recent_auth
def remove_role(request: SignedInRequest, project: Project, role_id: int) -> HttpResponse:
    def remove(role: Role) -> None:
        management.remove_role(actor=actor(request), role=role, origin=origin(request))

    return _on_role(
        request, project, role_id, remove, "Removed {role.user.username} ({role.role_name})."
    )


@project_action(Action.MANAGE_ROLES)
@require_POST
@require_recent_auth
def change_role(request: SignedInRequest, project: Project, role_id: int) -> HttpResponse:
    def change(role: Role) -> None:
        management.change_role(
            actor=actor(request),
            role=role,
            role_name=request.POST.get("role_name", ""),
            origin=origin(request),
        )

    return _on_role(
        request, project, role_id, change, "{role.user.username} is now {role.role_name}."
    )


@project_action(Action.MANAGE_ROLES)
@require_POST
@require_recent_auth
def revoke_invitation(
    request: SignedInRequest, project: Project, invitation_id: int
) -> HttpResponse:
    invitation = get_object_or_404(
        RoleInvitation.objects.select_related("invitee"), pk=invitation_id, project=project
    )
    try:
        management.revoke_invitation(
            actor=actor(request), invitation=invitation, origin=origin(request)
        )
    except PackagingError as error:
        raise_if_gone(error)
        return redirect("manage_roles", project.normalized_name)
    messages.success(request, f"Withdrew the invitation to {invitation.invitee.username}.")
    return redirect("manage_roles", project.normalized_name)


# -- settings ---------------------------------------------------------------------------------


@project_action(Action.SETTINGS)
def project_settings(request: SignedInRequest, project: Project) -> HttpResponse:
    if request.method != "POST":
        return _settings_page(request, project)
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            management.set_requires_two_factor(
                actor=actor(request),
                project=project,
                enabled=form.cleaned_data["requires_two_factor"],
                origin=origin(request),
            )
        except authz.Refused as refused:
            # The view's own check passed: the service refused the lock-out, said on the form.
            form.add_error("requires_two_factor", refused.reason)
        else:
            messages.success(request, "Settings saved.")
            return redirect("project_settings", project.normalized_name)
    return _settings_page(request, project, form=form, status=400)


def _settings_page(request, project, *, form=None, delete_form=None, status=200) -> HttpResponse:
    context = {
        "project": project,
        "form": form or SettingsForm(initial={"requires_two_factor": project.requires_two_factor}),
        "delete_form": delete_form or DeleteProjectForm(),
    }
    return render(request, "packaging/manage/settings.html", context, status=status)


@project_action(Action.DELETE)
@require_POST
@require_recent_auth
def delete_project(request: SignedInRequest, project: Project) -> HttpResponse:
    form = DeleteProjectForm(request.POST)
    delete = partial(
        management.delete_project, actor=actor(request), project=project, origin=origin(request)
    )
    done = _done(request, f"Deleted the project {project.name}.", "my_projects")
    return _confirmed_deletion(request, form, delete, done) or _settings_page(
        request, project, delete_form=form, status=400
    )
