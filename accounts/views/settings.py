"""/settings: the signed-in person's account: e-mail, password, linked GitHub account."""
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import github
from accounts.forms import EmailForm
from accounts.services import change_email
from accounts.views.common import person_required


def _password_form(user, data=None):
    # An account made through GitHub has no password yet: it may set one without the old one.
    form_class = PasswordChangeForm if user.has_usable_password() else SetPasswordForm
    return form_class(user, data)


def _page(request, *, email_form=None, password_form=None, status=200):
    user = request.account
    return render(request, "accounts/settings.html", {
        "user": user,
        "email_form": email_form or EmailForm(initial={"email": user.email}),
        "password_form": password_form or _password_form(user),
        "github_enabled": github.is_enabled(),
        "github_login": github.linked_account(user) if github.is_enabled() else None,
    }, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@person_required
def account(request):
    if request.method != "POST":
        return _page(request)
    form = EmailForm(request.POST)
    if not form.is_valid():
        return _page(request, email_form=form, status=400)
    change_email(request.account, form.cleaned_data["email"])
    messages.success(request, "E-mail address saved.")
    return HttpResponseRedirect("/settings")


@require_POST
@person_required
def password(request):
    form = _password_form(request.account, request.POST)
    if not form.is_valid():
        return _page(request, password_form=form, status=400)
    form.save()
    # Keep this session signed in; every other session of the account is signed out.
    update_session_auth_hash(request, form.user)
    messages.success(request, "Password changed.")
    return HttpResponseRedirect("/settings")
