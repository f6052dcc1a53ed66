"""/OWNER/NAME/settings: what the owner (or a site admin) changes about a repository.

Two pages (general, collaborators), each shown by GET. Every change is a POST to its own URL, with
Django's CSRF protection, made by a named function in repos.services, and answered with a redirect
and a flash message (Post/Redirect/Get); input that is not acceptable shows the page again with
the error and changes nothing. Anyone without admin access gets the 404 every repository page
gives; an agent's token needs the admin scope.
"""
import functools
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from accounts.access import ADMIN_ACCESS
from repos import browsing, services
from repos import search as searching
from repos.models import Collaborator
from repos.selectors import collaborators, old_names, store_path
from repos.views.common import STORES, RepoContext, page_repository

VISIBILITY = [("public", "Public"), ("private", "Private")]
PERMISSIONS = Collaborator.PERMISSIONS


class GeneralForm(forms.Form):
    description = forms.CharField(max_length=services.MAX_DESCRIPTION_LENGTH, required=False)
    visibility = forms.ChoiceField(choices=VISIBILITY)
    default_branch = forms.CharField(max_length=255)


class RenameForm(forms.Form):
    name = forms.CharField(max_length=100)


class DeleteForm(forms.Form):
    confirm = forms.CharField(max_length=300)

    def __init__(self, *args, repo, **kwargs):
        super().__init__(*args, **kwargs)
        self.repo = repo

    def clean_confirm(self):
        typed = self.cleaned_data["confirm"].strip()
        if typed != self.repo.full_name:
            raise forms.ValidationError(f"Type {self.repo.full_name} exactly to confirm.")
        return typed


class CollaboratorForm(forms.Form):
    username = forms.CharField(max_length=150)
    permission = forms.ChoiceField(choices=PERMISSIONS, initial=Collaborator.READ)


class PermissionForm(forms.Form):
    permission = forms.ChoiceField(choices=PERMISSIONS)


def admin_page(view):
    """Wraps view(request, repo, **kwargs) for those with admin access to OWNER/NAME; under an old
    name, answers with a redirect to the same URL under the name now (308 for a POST, which keeps
    the form, so a page opened before a rename still works)."""

    @functools.wraps(view)
    def wrapper(request, owner, name, **kwargs):
        repo, moved = page_repository(request, owner, name, ADMIN_ACCESS)
        return moved if moved is not None else view(request, repo, **kwargs)

    return never_cache(wrapper)


def _settings_url(repo, section=""):
    return f"/{quote(repo.full_name)}/settings{section}"


def _done(request, repo, message, section=""):
    messages.success(request, message)
    return HttpResponseRedirect(_settings_url(repo, section))


def _render(request, repo, template, context, status=200):
    with STORES.borrow(store_path(repo)) as store:
        ctx = RepoContext(request, repo, store)
        ctx.may_admin = lambda: True
        branches = [branch.name for branch in browsing.refs(store)[0]]
        return render(request, template, {"ctx": ctx, "repo": repo, "tab": "settings", "branches": branches,
                                          **context}, status=status)


# --- general: description, visibility, default branch, rename, delete -----------------------------------------------

def _general_page(request, repo, status=200, **forms_given):
    context = {
        "general_form": GeneralForm(initial={
            "description": repo.description, "default_branch": repo.default_branch,
            "visibility": "private" if repo.is_private else "public"}),
        "rename_form": RenameForm(initial={"name": repo.name}),
        "delete_form": DeleteForm(repo=repo),
        "old_names": old_names(repo),
        "section": "general",
    }
    context.update(forms_given)
    return _render(request, repo, "repos/settings.html", context, status)


@require_safe
@admin_page
def general(request, repo):
    return _general_page(request, repo)


@require_POST
@admin_page
def update_general(request, repo):
    form = GeneralForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.update_repository(repo, description=data["description"],
                                       private=data["visibility"] == "private",
                                       default_branch=data["default_branch"].strip())
        except services.InvalidSetting as error:
            form.add_error(error.field, str(error))
        else:
            return _done(request, repo, "Settings saved.")
    return _general_page(request, repo, status=400, general_form=form)


@require_POST
@admin_page
def rename(request, repo):
    form = RenameForm(request.POST)
    if form.is_valid():
        old = repo.full_name
        try:
            services.rename_repository(repo, form.cleaned_data["name"].strip())
        except ValueError as error:
            form.add_error("name", str(error))
        else:
            return _done(request, repo, f"Renamed {old} to {repo.full_name}. Its old web and git URLs lead here.")
    return _general_page(request, repo, status=400, rename_form=form)


@require_POST
@admin_page
def delete(request, repo):
    form = DeleteForm(request.POST, repo=repo)
    if not form.is_valid():
        return _general_page(request, repo, status=400, delete_form=form)
    full_name, owner, path = repo.full_name, repo.owner.username, store_path(repo)
    services.delete_repository(repo)
    # This process's idle connections to the moved file; other processes never borrow theirs
    # again, since access is checked against the registry (where the row is gone) first.
    STORES.forget(path)
    messages.success(request, f"Deleted {full_name}. An administrator can restore it from the server's trash.")
    return HttpResponseRedirect(f"/{quote(owner)}")


@require_POST
@admin_page
def rebuild_search_index(request, repo):
    stats = searching.rebuild(repo)
    skipped = stats.skipped_binary + stats.skipped_large
    return _done(request, repo, f"Search index rebuilt: {stats.files} file{'s' if stats.files != 1 else ''} indexed"
                 + (f", {skipped} binary or over 1 MiB left out." if skipped else "."))


# --- collaborators ------------------------------------------------------------------------------------------------

def _collaborators_page(request, repo, status=200, add_form=None, error=None):
    return _render(request, repo, "repos/settings_collaborators.html", {
        "collaborators": collaborators(repo),
        "add_form": add_form or CollaboratorForm(),
        "permissions": PERMISSIONS,
        "error": error,
        "section": "collaborators",
    }, status)


@require_safe
@admin_page
def collaborator_list(request, repo):
    return _collaborators_page(request, repo)


@require_POST
@admin_page
def add_collaborator(request, repo):
    form = CollaboratorForm(request.POST)
    if form.is_valid():
        try:
            added = services.set_collaborator(repo, form.cleaned_data["username"], form.cleaned_data["permission"])
        except ValueError as error:
            form.add_error("username", str(error))
        else:
            return _done(request, repo, f"{added.user.username} may now {added.permission} {repo.full_name}.",
                         "/collaborators")
    return _collaborators_page(request, repo, status=400, add_form=form)


@require_POST
@admin_page
def change_collaborator(request, repo, username):
    if not repo.collaborators.filter(user__username__iexact=username).exists():
        raise Http404("No such collaborator")
    form = PermissionForm(request.POST)
    if not form.is_valid():
        return _collaborators_page(request, repo, status=400, error="Choose read or write.")
    changed = services.set_collaborator(repo, username, form.cleaned_data["permission"])
    return _done(request, repo, f"{changed.user.username} may now {changed.permission} {repo.full_name}.",
                 "/collaborators")


@require_POST
@admin_page
def remove_collaborator(request, repo, username):
    try:
        services.remove_collaborator(repo, username)
    except ValueError:
        raise Http404("No such collaborator") from None
    return _done(request, repo, f"{username} is no longer a collaborator.", "/collaborators")
