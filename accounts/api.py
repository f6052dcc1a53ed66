"""API routes about accounts: /user (read and PATCH), /users/{username}, /rate_limit.

A user is shown with the fields GitHub's "simple user" has (every object that names a user embeds
it: owners, commit authors), and /user and /users/{username} add the profile fields of a full user.
Forge keeps fewer facts about a person than GitHub: fields it has no data for are answered with
GitHub's empty values (null, "", 0), never left out, so clients that read them do not fail."""
import time
from datetime import datetime

from django.db import transaction
from django.http import HttpResponse
from ninja import Router, Schema

from accounts.scopes import ADMIN
from accounts.selectors import actor_user, get_user
from accounts.services import change_email
from forge.api import ApiError, api_actor, errors, invalid, require_authentication, require_scope

router = Router(tags=["users"])

NAME_MAX_LENGTH = 150  # Django's User.first_name, where the display name is kept


class UserOut(Schema):
    login: str
    id: int
    node_id: str
    avatar_url: str
    gravatar_id: str
    type: str = "User"
    site_admin: bool
    name: str | None
    email: str | None
    html_url: str
    url: str
    repos_url: str


class FullUserOut(UserOut):
    """/user and /users/{username}: the simple user and the profile."""
    company: str | None
    blog: str
    location: str | None
    hireable: bool | None
    bio: str | None
    twitter_username: str | None
    public_repos: int
    public_gists: int
    followers: int
    following: int
    created_at: datetime
    updated_at: datetime


def user_json(request, user) -> dict:
    """The simple user. The account's e-mail address is shown only to the account itself: Forge has
    no "public e-mail" setting, and GitHub shows an address only when its owner made it public."""
    api_base = request.build_absolute_uri(f"/api/v3/users/{user.username}")
    return {
        "login": user.username,
        "id": user.pk,
        "node_id": f"U_{user.pk}",
        "avatar_url": "",
        "gravatar_id": "",
        "type": "User",
        "site_admin": user.is_superuser,
        "name": user.get_full_name() or None,
        "email": (user.email or None) if _is_self(request, user) else None,
        "html_url": request.build_absolute_uri(f"/{user.username}"),
        "url": api_base,
        "repos_url": api_base + "/repos",
    }


def _is_self(request, user) -> bool:
    actor = getattr(request, "actor", None)
    return actor is not None and api_actor(request).user_id == user.pk


def full_user_json(request, user) -> dict:
    from repos.models import Repository  # accounts' models must not depend on repos' at import time

    data = user_json(request, user)
    data.update({
        "company": None, "blog": "", "location": None, "hireable": None, "bio": None, "twitter_username": None,
        "public_repos": Repository.objects.filter(owner=user, is_private=False).count(),
        "public_gists": 0, "followers": 0, "following": 0,
        # Django's User records when the account was made, not when it last changed.
        "created_at": user.date_joined, "updated_at": user.date_joined,
    })
    return data


def _authenticated_user(request):
    user = actor_user(require_authentication(request))
    if user is None:
        raise ApiError(401, "Requires authentication")
    return user


@router.get("/user", response={200: FullUserOut, **errors(401)}, summary="The authenticated user")
def authenticated_user(request):
    return full_user_json(request, _authenticated_user(request))


class UserEditIn(Schema):
    name: str | None = None
    email: str | None = None
    blog: str | None = None
    twitter_username: str | None = None
    company: str | None = None
    location: str | None = None
    hireable: bool | None = None
    bio: str | None = None


@router.patch("/user", response={200: FullUserOut, **errors(401, 403, 422)},
              summary="Update the authenticated user",
              description="Changes `name` and `email`. Forge keeps no blog, company, location, hireable, bio "
                          "or twitter_username: those members are accepted and ignored. A token needs the "
                          "admin scope (GitHub's `user` scope has no narrower equivalent in Forge).")
def update_authenticated_user(request, body: UserEditIn):
    actor = require_authentication(request)
    require_scope(actor, ADMIN)
    user = _authenticated_user(request)
    if body.name is not None and len(body.name.strip()) > NAME_MAX_LENGTH:
        raise invalid(f"name is longer than {NAME_MAX_LENGTH} characters", resource="User", field="name")
    with transaction.atomic():
        if body.email is not None:
            try:
                change_email(user, body.email)
            except ValueError as error:
                raise invalid(str(error), resource="User", field="email") from None
        if body.name is not None:
            change_display_name(user, body.name)
    return full_user_json(request, user)


def change_display_name(user, name: str) -> None:
    """The name shown for the account ("" for none). Kept whole in first_name, so that
    get_full_name() gives it back as it was written."""
    # TODO(lead): belongs in accounts/services.py next to change_email (not this helper's file).
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"name is longer than {NAME_MAX_LENGTH} characters")
    user.first_name = name
    user.last_name = ""
    user.save(update_fields=["first_name", "last_name"])


@router.get("/users/{username}", response={200: FullUserOut, **errors(404)}, summary="A user")
def user(request, username: str):
    found = get_user(username)
    if found is None or not found.is_active:
        raise ApiError(404, "Not Found")
    return full_user_json(request, found)


# --- rate limits ---------------------------------------------------------------------------------------

# Forge does not throttle API calls. Clients that pace themselves on GitHub's numbers (PyGithub
# reads /rate_limit and the X-RateLimit-* headers) are given a large budget that is never spent.
RATE_LIMITS = {"core": 15000, "search": 1000, "code_search": 1000, "graphql": 15000,
               "integration_manifest": 15000}
RATE_WINDOW_SECONDS = 3600


class RateOut(Schema):
    limit: int
    remaining: int
    reset: int
    used: int
    resource: str


class RateResourcesOut(Schema):
    core: RateOut
    search: RateOut
    code_search: RateOut
    graphql: RateOut
    integration_manifest: RateOut


class RateLimitOut(Schema):
    resources: RateResourcesOut
    rate: RateOut


def _rate(resource: str, reset: int) -> dict:
    limit = RATE_LIMITS[resource]
    return {"limit": limit, "remaining": limit, "reset": reset, "used": 0, "resource": resource}


def rate_limit_headers(resource: str = "core") -> dict[str, str]:
    """GitHub's X-RateLimit-* headers for the fixed budget (for every API answer, if the API's
    shared layer adds them)."""
    rate = _rate(resource, _next_reset())
    return {"X-RateLimit-Limit": str(rate["limit"]), "X-RateLimit-Remaining": str(rate["remaining"]),
            "X-RateLimit-Reset": str(rate["reset"]), "X-RateLimit-Used": "0", "X-RateLimit-Resource": resource}


def _next_reset() -> int:
    return (int(time.time()) // RATE_WINDOW_SECONDS + 1) * RATE_WINDOW_SECONDS


@router.get("/rate_limit", response=RateLimitOut, summary="Rate limit status",
            description="Forge does not limit the rate of API calls. This answers GitHub's form with a fixed, "
                        "generous budget that is never used up (remaining always equals limit), so clients "
                        "that pace themselves on it never wait.")
def rate_limit(request, response: HttpResponse):
    reset = _next_reset()
    for header, value in rate_limit_headers().items():
        response[header] = value
    resources = {name: _rate(name, reset) for name in RATE_LIMITS}
    return {"resources": resources, "rate": resources["core"]}
