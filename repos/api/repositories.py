"""API routes about repositories themselves: /repos/{owner}/{repo}, /user/repos."""
from ninja import Router, Schema

from accounts.scopes import REPO_WRITE
from accounts.selectors import actor_user
from forge.api import ApiError, errors, require_authentication, require_scope
from repos.api.common import RepositoryOut, accessible, repository_json
from repos.services import create_repository

router = Router(tags=["repos"])


class RepositoryIn(Schema):
    name: str
    description: str = ""
    private: bool = False
    default_branch: str = "main"


@router.get("/repos/{owner}/{repo}", response={200: RepositoryOut, **errors(404)}, summary="A repository")
def get_repository(request, owner: str, repo: str):
    actor, found = accessible(request, owner, repo)
    return repository_json(request, actor, found)


@router.post("/user/repos", response={201: RepositoryOut, **errors(401, 403, 422)},
             summary="Create a repository for the authenticated user")
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
