"""API routes about repositories: GET /repos/{owner}/{repo}, POST /user/repos."""
from datetime import datetime

from ninja import Router, Schema

from accounts.access import ADMIN_ACCESS, READ, WRITE, AccessError, access_repo, allowed_needs
from accounts.api import UserOut, user_json
from accounts.scopes import REPO_WRITE
from accounts.selectors import actor_user
from forge.api import ApiError, api_actor, require_authentication, require_scope
from repos.services import create_repository

router = Router(tags=["repos"])


class Permissions(Schema):
    admin: bool
    push: bool
    pull: bool


class RepositoryOut(Schema):
    id: int
    name: str
    full_name: str
    private: bool
    visibility: str
    owner: UserOut
    description: str | None
    default_branch: str
    html_url: str
    clone_url: str
    url: str
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime | None
    permissions: Permissions | None = None


class RepositoryIn(Schema):
    name: str
    description: str = ""
    private: bool = False
    default_branch: str = "main"


def repository_json(request, actor, repo) -> dict:
    needs = allowed_needs(actor, repo)
    data = {
        "id": repo.pk,
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.is_private,
        "visibility": "private" if repo.is_private else "public",
        "owner": user_json(request, repo.owner),
        "description": repo.description or None,
        "default_branch": repo.default_branch,
        "html_url": request.build_absolute_uri(f"/{repo.full_name}"),
        "clone_url": request.build_absolute_uri(f"/{repo.full_name}.git"),
        "url": request.build_absolute_uri(f"/api/v3/repos/{repo.full_name}"),
        "created_at": repo.created_at,
        "updated_at": repo.updated_at,
        "pushed_at": repo.pushed_at,
    }
    if not actor.is_anonymous:
        data["permissions"] = {"admin": ADMIN_ACCESS in needs, "push": WRITE in needs, "pull": READ in needs}
    return data


def accessible(request, owner: str, name: str, need: str = READ):
    """(actor, repository) if the caller may `need` it, with GitHub's answers otherwise: 404 for a
    repository the caller may not see, 401 or 403 for one it may see but not change."""
    actor = api_actor(request)
    try:
        repo = access_repo(actor, owner, name, READ)
    except AccessError:
        raise ApiError(404, "Not Found") from None
    if need != READ and need not in allowed_needs(actor, repo):
        if actor.is_anonymous:
            raise ApiError(401, "Requires authentication")
        raise ApiError(403, "Must have admin rights to Repository." if need == ADMIN_ACCESS
                       else "Permission to push to this repository denied.")
    return actor, repo


@router.get("/repos/{owner}/{repo}", response=RepositoryOut, summary="A repository")
def get_repository(request, owner: str, repo: str):
    actor, found = accessible(request, owner, repo)
    return repository_json(request, actor, found)


@router.post("/user/repos", response={201: RepositoryOut}, summary="Create a repository for the authenticated user")
def create_user_repository(request, body: RepositoryIn):
    actor = require_authentication(request)
    require_scope(actor, REPO_WRITE)
    user = actor_user(actor)
    try:
        repo = create_repository(user, body.name, description=body.description, private=body.private,
                                 default_branch=body.default_branch)
    except ValueError as error:
        raise ApiError(422, str(error)) from None
    return 201, repository_json(request, actor, repo)
