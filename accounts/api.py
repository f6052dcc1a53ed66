"""API routes about accounts: /user and /users/{username}."""
from ninja import Router, Schema

from accounts.selectors import actor_user, get_user
from forge.api import ApiError, require_authentication

router = Router(tags=["users"])


class UserOut(Schema):
    login: str
    id: int
    type: str = "User"
    site_admin: bool
    name: str | None
    email: str | None
    html_url: str
    url: str


def user_json(request, user) -> dict:
    return {
        "login": user.username,
        "id": user.pk,
        "type": "User",
        "site_admin": user.is_superuser,
        "name": user.get_full_name() or None,
        "email": user.email or None,
        "html_url": request.build_absolute_uri(f"/{user.username}"),
        "url": request.build_absolute_uri(f"/api/v3/users/{user.username}"),
    }


@router.get("/user", response=UserOut, summary="The authenticated user")
def authenticated_user(request):
    user = actor_user(require_authentication(request))
    if user is None:
        raise ApiError(401, "Requires authentication")
    return user_json(request, user)


@router.get("/users/{username}", response=UserOut, summary="A user")
def user(request, username: str):
    found = get_user(username)
    if found is None or not found.is_active:
        raise ApiError(404, "Not Found")
    return user_json(request, found)


