"""GitHub sign-in (social-auth-app-django), active when FORGE_GITHUB_KEY and FORGE_GITHUB_SECRET are set.

The flow is social_django's (/oauth/login/github/ -> GitHub -> /oauth/complete/github/); what is
Forge's lives here, and forge/settings.py (the "GitHub sign-in" block) wires it in:

- `GithubBackend`: social_core's GitHub backend pointed at FORGE_GITHUB_URL / FORGE_GITHUB_API_URL,
  so GitHub Enterprise works (base https://ghe.example.com, API https://ghe.example.com/api/v3).
- Pipeline steps (SOCIAL_AUTH_PIPELINE): a GitHub account is identified by its numeric id, never by
  its e-mail address (associating by e-mail would let whoever controls a GitHub account take over
  the local account with the same address). A signed-in person who goes through the flow links
  GitHub to their account; anyone else signs in to the linked account, or gets a new account named
  after their GitHub login (another name, said in a message, when that one is taken or not allowed).
- `GithubErrorMiddleware`: failures (authorization denied, state mismatch, GitHub already linked...)
  become a message on /login or /settings instead of an error page.
"""
from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from social_core.backends.github import GithubOAuth2
from social_core.exceptions import AuthAssociationError, SocialAuthBaseException
from social_core.pipeline import social_auth
from social_django.middleware import SocialAuthExceptionMiddleware

from accounts.selectors import get_user
from accounts.services import USERNAME_PATTERN, register_user, signup_open, validate_username

PROVIDER = "github"
BACKEND_PATH = "accounts.github.GithubBackend"
MAX_USERNAME_LENGTH = 39  # accounts.services.USERNAME_PATTERN, and GitHub's own limit
# How many numbered variants (login-2, login-3, ...) to try before falling back on the GitHub id.
NUMBERED_VARIANTS = 200


def is_enabled() -> bool:
    """Whether "Sign in with GitHub" is offered (FORGE_GITHUB_KEY and FORGE_GITHUB_SECRET set)."""
    return bool(settings.FORGE_GITHUB_KEY and settings.FORGE_GITHUB_SECRET) and (
        BACKEND_PATH in settings.AUTHENTICATION_BACKENDS
    )


def _association(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.social_auth.filter(provider=PROVIDER).order_by("pk").first()


def linked_account(user) -> str | None:
    """The GitHub account linked to `user` (its login, as of its last sign-in), or None."""
    association = _association(user)
    if association is None:
        return None
    return (association.extra_data or {}).get("login") or association.uid


# --- the backend -----------------------------------------------------------------------------------------------
class GithubBackend(GithubOAuth2):
    """GitHub OAuth2 at FORGE_GITHUB_URL (web: authorize, access token) and FORGE_GITHUB_API_URL (API)."""

    name = PROVIDER

    def authorization_url(self) -> str:
        return f"{settings.FORGE_GITHUB_URL}/login/oauth/authorize"

    def access_token_url(self) -> str:
        return f"{settings.FORGE_GITHUB_URL}/login/oauth/access_token"

    def api_url(self) -> str:
        # The base class joins "user" onto it: the trailing slash keeps a path such as /api/v3.
        return f"{settings.FORGE_GITHUB_API_URL}/"

    def user_data(self, access_token: str, *args, **kwargs):
        """/user, with `email` set to the primary address only if GitHub has verified it.

        (social_core takes the primary address whether verified or not; Forge never matches
        accounts by address, but it should not put an unverified one on a new account either.)
        """
        data = self._user_data(access_token)
        try:
            emails = self._user_data(access_token, "/emails")
        except (SocialAuthBaseException, ValueError, TypeError):
            emails = None  # without the user:email scope, or an Enterprise that hides it
        if isinstance(emails, list):
            verified_primary = [e.get("email") for e in emails
                                if isinstance(e, dict) and e.get("primary") and e.get("verified")]
            data["email"] = verified_primary[0] if verified_primary else (data.get("email") or "")
        return data


# --- messages for failures -------------------------------------------------------------------------------------
class GithubRefused(AuthAssociationError):
    """A refusal with a sentence for the person (shown as it is)."""

    def __init__(self, backend, message: str, code: str = "identity_in_use"):
        super().__init__(backend, message, code=code, stage="pipeline")
        self.forge_message = message


# Forge's wording for social_core's error codes (its own are generic, and say nothing of GitHub).
MESSAGES = {
    "authorization_declined": "GitHub sign-in was cancelled: the authorization was not granted.",
    "state_mismatch": "GitHub sign-in failed: the answer from GitHub did not match this browser's request. "
                      "Please try again.",
    "session_context_missing": "GitHub sign-in failed: the request had expired or was started in another "
                               "browser. Please try again.",
    "missing_parameter": "GitHub sign-in failed: GitHub's answer was incomplete. Please try again.",
    "authorization_code_rejected": "GitHub sign-in failed: GitHub did not accept the authorization code. "
                                   "Please try again.",
    "identity_in_use": "That GitHub account is already linked to another Forge account; nothing was changed.",
    "disconnect_disallowed": "Set a password before unlinking GitHub: otherwise you could not sign in any more.",
    "invalid_setting": "GitHub sign-in is not configured correctly on this site; please tell its administrator.",
    "connection_failed": "GitHub could not be reached. Please try again later.",
    "timeout": "GitHub did not answer in time. Please try again later.",
}
DEFAULT_MESSAGE = "GitHub sign-in failed. Please try again."


class GithubErrorMiddleware(SocialAuthExceptionMiddleware):
    """A failed GitHub flow lands on /settings (someone signed in: linking) or /login, with a message."""

    def raise_exception(self, request, exception) -> bool:
        return False

    def get_redirect_uri(self, request, exception) -> str:
        user = getattr(request, "user", None)
        return "/settings" if user is not None and user.is_authenticated else settings.LOGIN_URL

    def get_message(self, request, exception) -> str:
        forge_message = getattr(exception, "forge_message", None)
        if forge_message:
            return forge_message
        return MESSAGES.get(getattr(exception, "code", ""), DEFAULT_MESSAGE)


# --- pipeline steps --------------------------------------------------------------------------------------------
def _login(response) -> str:
    login = (response or {}).get("login")
    return login if isinstance(login, str) else ""


def linked_user(backend, uid, user=None, *args, response=None, **kwargs):
    """social_core's `social_user` (the Forge account this GitHub id is linked to), with Forge's refusals:
    the id linked to another account than the signed-in one, or to a disabled account."""
    try:
        result = social_auth.social_user(backend, uid, user, *args, response=response, **kwargs)
    except AuthAssociationError as error:
        if error.code != "identity_in_use":
            raise
        raise GithubRefused(backend, f"The GitHub account {_login(response)} is already linked to another "
                                     "Forge account; nothing was changed.") from error
    found = result["user"]
    if found is not None and not found.is_active:
        raise GithubRefused(backend, "The Forge account linked to this GitHub account is disabled.",
                            code="authentication_disallowed")
    return result


def one_github_account(backend, user=None, social=None, *args, response=None, **kwargs):
    """A signed-in account that already has another GitHub account linked keeps that one."""
    current = linked_account(user) if user is not None and social is None else None
    if current is not None:
        raise GithubRefused(backend, f"Your account is already linked to the GitHub account {current}; unlink it "
                                     f"before linking {_login(response)}. Nothing was changed.")


def username_candidates(login: str, github_id: str):
    """The names a new account from GitHub login `login` may get, in order of preference.

    The login itself, then `login-github`, then `login-2`, `login-3`, ...; each cut so it fits
    Forge's 39 characters. A login Forge cannot use as it is (an Enterprise login with `_` or `.`)
    has those characters turned into hyphens first.
    """
    login = login or ""
    if USERNAME_PATTERN.fullmatch(login):
        base = login
    else:
        base = re.sub(r"[^A-Za-z0-9]+", "-", login).strip("-")[:MAX_USERNAME_LENGTH] or f"github-{github_id}"

    def fit(suffix: str) -> str:
        return base[: MAX_USERNAME_LENGTH - len(suffix)].rstrip("-") + suffix

    yield fit("")
    yield fit("-github")
    for number in range(2, NUMBERED_VARIANTS + 2):
        yield fit(f"-{number}")
    yield fit(f"-{github_id}")


def _acceptable_email(email) -> str:
    """The address if Django's validator takes it (register_user would refuse the account), else ""."""
    if not isinstance(email, str) or not email:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email


def _free(name: str) -> bool:
    try:
        validate_username(name)
    except ValueError:
        return False
    return get_user(name) is None


def create_account(backend, details, uid, user=None, *args, response=None, **kwargs):
    """A new account for a GitHub account linked to none (register_user: the site's first is its admin).

    Its name is the GitHub login, or the first free variant (a message says so); no password (one can
    be set in /settings); the e-mail address only if GitHub verified it.
    """
    if user is not None:
        return {"is_new": False}
    login = _login(response) or details.get("username") or ""
    if not signup_open():
        raise GithubRefused(backend, "This site does not take new accounts. If you have one, sign in with its "
                                     "password and link GitHub from your settings.", code="authentication_disallowed")
    email = _acceptable_email(details.get("email"))
    for name in username_candidates(login, uid):
        if not _free(name):
            continue
        try:
            account = register_user(name, email=email)
        except ValueError:
            continue  # taken by someone else in the meantime
        return {"is_new": True, "user": account, "forge_name_differs": account.username != login}
    raise GithubRefused(backend, f"No free user name could be found for the GitHub account {login}.",
                        code="username_in_use")


def announce(strategy, backend, user=None, *args, is_new=False, new_association=False, response=None,
             forge_name_differs=False, **kwargs):
    """Tells the person what happened: a new account (and its name, if not the login), or a new link."""
    request = strategy.request
    login = _login(response)
    if user is None or request is None:
        return
    if is_new:
        text = f"Welcome, {user.username}. Your account was created from the GitHub account {login}."
        if forge_name_differs:
            text += (f" The name {login} is taken or not allowed here, so your account is called "
                     f"{user.username}.")
        if user.is_superuser:
            text += " You are this site's administrator."
        messages.success(request, text)
    elif new_association:
        messages.success(request, f"The GitHub account {login} is now linked to your account: you can sign in "
                                  "with it.")


def announce_unlinked(strategy, entries=(), *args, **kwargs):
    """The last step of the disconnect pipeline."""
    logins = [(entry.extra_data or {}).get("login") or entry.uid for entry in entries]
    if logins and strategy.request is not None:
        messages.success(strategy.request, f"The GitHub account {', '.join(logins)} is no longer linked to your "
                                           "account.")
