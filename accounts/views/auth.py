"""Signing up, in and out with a local account."""
from django.contrib import auth, messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts import github, throttle
from accounts.forms import LoginForm, SignupForm
from accounts.middleware import client_address
from accounts.selectors import get_user
from accounts.services import register_user, signup_open
from accounts.views.common import safe_next

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _page(request, template, form, status=200, **extra):
    return render(request, template, {
        "form": form, "next": safe_next(request, ""), "github_enabled": github.is_enabled(), **extra,
    }, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    if not request.actor.is_anonymous:
        return HttpResponseRedirect(safe_next(request))
    if not signup_open():
        return _page(request, "accounts/signup.html", None, status=403, closed=True)
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        return _page(request, "accounts/signup.html", form, status=400 if form.is_bound else 200)
    data = form.cleaned_data
    try:
        user = register_user(data["username"], email=data["email"], password=data["password"])
    except ValueError as error:  # the name was taken in the meantime
        form.add_error("username", str(error))
        return _page(request, "accounts/signup.html", form, status=400)
    auth.login(request, user, backend=MODEL_BACKEND)
    messages.success(request, f"Welcome, {user.username}." + (" You are this site's administrator." if user.is_superuser else ""))
    return HttpResponseRedirect(safe_next(request))


@require_http_methods(["GET", "HEAD", "POST"])
def login(request):
    if request.method != "POST":
        if not request.actor.is_anonymous:
            return HttpResponseRedirect(safe_next(request))
        return _page(request, "accounts/login.html", LoginForm())
    form = LoginForm(request.POST)
    if not form.is_valid():
        return _page(request, "accounts/login.html", form, status=400)
    name, password = form.cleaned_data["username"].strip(), form.cleaned_data["password"]
    address = client_address(request)
    refusal = throttle.check(name, address)
    if refusal is not None:
        response = _page(request, "accounts/login.html", form, status=429, error=str(refusal))
        response["Retry-After"] = str(refusal.retry_after)
        return response
    account = get_user(name)
    # Names are unique ignoring case; the stored spelling is what the password backend looks up.
    user = auth.authenticate(request, username=account.username if account else name, password=password)
    if user is None:
        throttle.record_failure(name, address)
        return _page(request, "accounts/login.html", form, status=400,
                     error="Wrong user name or password.")
    throttle.record_success(name)
    auth.login(request, user)
    return HttpResponseRedirect(safe_next(request))


@require_http_methods(["GET", "HEAD", "POST"])
def logout(request):
    """GET asks (a link must not sign anyone out: a page elsewhere could embed it); POST signs out."""
    if request.method == "POST":
        auth.logout(request)
        return HttpResponseRedirect("/")
    if request.actor.is_anonymous:
        return HttpResponseRedirect("/")
    return render(request, "accounts/logout.html", {})


