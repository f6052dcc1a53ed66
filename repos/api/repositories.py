"""API routes about repositories themselves: /repos/{owner}/{repo} (read, change, delete), the
lists /user/repos and /users/{username}/repos, and creation (POST /user/repos).

A repository asked for by an OLD name (it was renamed) answers as GitHub does: 301 to the same API
path under the name it has now for GET and HEAD, 307 for other methods (which must keep their
method and body); common.accessible() does that for every repository route."""
from datetime import datetime
from typing import Literal

from django.db.models import F, Q
from django.db.models.functions import Lower
from django.http import HttpResponse
from ninja import Router, Schema

from accounts.access import ADMIN_ACCESS, readable_filter
from accounts.scopes import REPO_WRITE
from accounts.selectors import actor_user, get_user
from forge.api import (
    ApiError,
    Page,
    api_actor,
    as_utc,
    errors,
    require_authentication,
    require_scope,
)
from repos.api.common import MOVED, RepositoryOut, accessible, repository_json
from repos.edits import put_file
from repos.models import Collaborator, Repository
from repos.selectors import get_repository, store_path
from repos.services import (
    MAX_DESCRIPTION_LENGTH,
    InvalidSetting,
    create_repository,
    delete_repository,
    rename_repository,
    update_repository,
    validate_repository_name,
)
from repos.views.common import STORES

router = Router(tags=["repos"])

NAME_TAKEN = "name already exists on this account"
CREATION_FAILED = "Repository creation failed."


def name_taken(message: str = "Validation Failed") -> ApiError:
    """GitHub's 422 for a name the owner already uses (its message is "Repository creation failed."
    when creating)."""
    return ApiError(422, message,
                    [{"resource": "Repository", "code": "custom", "field": "name", "message": NAME_TAKEN}])


# --- one repository -----------------------------------------------------------------------------------

@router.get("/repos/{owner}/{repo}", response={200: RepositoryOut, **MOVED, **errors(404)}, summary="A repository")
def get_repository_route(request, owner: str, repo: str):
    actor, found = accessible(request, owner, repo)
    return repository_json(request, actor, found)


class RepositoryChangeIn(Schema):
    """What PATCH /repos/{owner}/{repo} changes; what is absent stays. GitHub's other settings
    (homepage, has_issues, ...) are accepted and ignored: Forge has no such settings."""
    name: str | None = None
    description: str | None = None
    private: bool | None = None
    visibility: str | None = None
    default_branch: str | None = None


@router.patch("/repos/{owner}/{repo}", response={200: RepositoryOut, **MOVED, **errors(401, 403, 404, 422)},
              summary="Update a repository")
def update_repository_route(request, owner: str, repo: str, body: RepositoryChangeIn):
    actor, found = accessible(request, owner, repo, ADMIN_ACCESS)
    given = body.model_fields_set
    private = _private_from(body.private if "private" in given else None,
                            body.visibility if "visibility" in given else None)
    new_name = body.name if "name" in given and body.name is not None else None
    if new_name is not None and new_name != found.name:
        _check_new_name(found, new_name)
    # Every value is checked before anything changes: update_repository changes nothing when
    # one is refused, and the name (checked above) changes last.
    try:
        update_repository(found, description=(body.description or "") if "description" in given else None,
                          private=private,
                          default_branch=body.default_branch if "default_branch" in given else None)
    except InvalidSetting as error:
        raise _invalid_field(error.field, str(error)) from None
    if new_name is not None and new_name != found.name:
        try:
            rename_repository(found, new_name)
        except ValueError as error:
            raise (name_taken() if "already exists" in str(error) else _invalid_field("name", str(error))) from None
    found.refresh_from_db()
    return repository_json(request, actor, found)


def _private_from(private: bool | None, visibility: str | None) -> bool | None:
    """`visibility` wins over `private` when both are given, as on GitHub."""
    if visibility is not None:
        if visibility not in ("public", "private"):
            raise _invalid_field("visibility", "visibility must be public or private (Forge has no internal "
                                               "repositories)")
        return visibility == "private"
    return private


def _check_new_name(repo, new_name: str) -> None:
    try:
        validate_repository_name(new_name)
    except ValueError as error:
        raise _invalid_field("name", str(error)) from None
    if new_name.lower() != repo.name.lower() and get_repository(repo.owner.username, new_name) is not None:
        raise name_taken()


def _invalid_field(field: str, message: str) -> ApiError:
    return ApiError(422, "Validation Failed",
                    [{"resource": "Repository", "code": "invalid", "field": field, "message": message}])


@router.delete("/repos/{owner}/{repo}", response={204: None, **MOVED, **errors(401, 403, 404)},
               summary="Delete a repository")
def delete_repository_route(request, owner: str, repo: str):
    _, found = accessible(request, owner, repo, ADMIN_ACCESS)
    path = store_path(found)
    delete_repository(found)
    # This process's idle connections to the moved file (as the settings page does).
    STORES.forget(path)
    return 204, None


# --- creation -----------------------------------------------------------------------------------------

class RepositoryIn(Schema):
    """GitHub's fields; `default_branch` is Forge's addition. Other GitHub fields (homepage,
    has_issues, license_template, ...) are accepted and ignored."""
    name: str
    description: str | None = None
    private: bool = False
    visibility: str | None = None
    auto_init: bool = False
    default_branch: str = "main"


@router.post("/user/repos", response={201: RepositoryOut, **errors(401, 403, 422)},
             summary="Create a repository for the authenticated user")
def create_user_repository(request, body: RepositoryIn):
    actor = require_authentication(request)
    require_scope(actor, REPO_WRITE)
    user = actor_user(actor)
    if user is None:
        raise ApiError(401, "Requires authentication")
    private = _private_from(body.private, body.visibility)
    description = (body.description or "").strip()
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise _invalid_field("description", f"description is too long (maximum is {MAX_DESCRIPTION_LENGTH} "
                                            "characters)")
    if any(ch in description for ch in "\r\n\0"):
        raise _invalid_field("description", "the description is one line of text")  # as the settings page says
    try:
        validate_repository_name(body.name)
    except ValueError as error:
        raise _invalid_field("name", str(error)) from None
    if get_repository(user.username, body.name) is not None:
        raise name_taken(CREATION_FAILED)
    try:
        repo = create_repository(user, body.name, description=description, private=private,
                                 default_branch=body.default_branch)
    except ValueError as error:
        if "already exists" in str(error):
            raise name_taken(CREATION_FAILED) from None
        raise _invalid_field("default_branch", str(error)) from None
    if body.auto_init:
        write_initial_commit(repo, actor)
    return 201, repository_json(request, actor, repo)


def write_initial_commit(repo, actor) -> None:
    """GitHub's auto_init: one commit, "Initial commit", adding README.md (the name as a heading,
    then the description) on the default branch, written as any API commit is."""
    readme = f"# {repo.name}\n" + (f"{repo.description}\n" if repo.description else "")
    put_file(actor, repo, "README.md", readme.encode("utf-8"), message="Initial commit")


# --- lists --------------------------------------------------------------------------------------------

Sort = Literal["created", "updated", "pushed", "full_name"]
Direction = Literal["asc", "desc"]
SORT_FIELDS = {"created": "created_at", "updated": "updated_at", "pushed": "pushed_at"}
AFFILIATIONS = ("owner", "collaborator", "organization_member")


def _ordered(queryset, sort: str, direction: str | None):
    """GitHub's orders: by full name ascending unless told, by a date newest first unless told."""
    descending = (direction or ("asc" if sort == "full_name" else "desc")) == "desc"
    keys = [Lower("owner__username"), Lower("name")] if sort == "full_name" else [F(SORT_FIELDS[sort])]
    keys.append(F("pk"))
    # Never-pushed repositories come last either way, as GitHub lists them.
    return queryset.order_by(*[key.desc(nulls_last=True) if descending else key.asc(nulls_last=True)
                               for key in keys])


def _dated(queryset, since: datetime | None, before: datetime | None):
    """GitHub's since/before: repositories updated after / before a time (UTC unless it says)."""
    if since is not None:
        queryset = queryset.filter(updated_at__gt=as_utc(since))
    if before is not None:
        queryset = queryset.filter(updated_at__lt=as_utc(before))
    return queryset


# A page past this could only be empty; larger numbers would overflow SQLite's OFFSET (a 500).
MAX_PAGE = 10_000_000


def _page(page: int, per_page: int) -> Page:
    return Page(min(page, MAX_PAGE), per_page)


@router.get("/user/repos", response={200: list[RepositoryOut], **errors(401, 422)},
            summary="Repositories of the authenticated user (owned and collaborations)")
def list_user_repositories(request, response: HttpResponse,
                           visibility: Literal["all", "public", "private"] | None = None,
                           affiliation: str | None = None,
                           type: Literal["all", "owner", "public", "private", "member"] | None = None,
                           sort: Sort = "full_name", direction: Direction | None = None,
                           since: datetime | None = None, before: datetime | None = None,
                           page: int = 1, per_page: int = 30):
    actor = require_authentication(request)
    if actor.user_id is None:
        raise ApiError(401, "Requires authentication")
    if type is not None and (visibility is not None or affiliation is not None):
        raise ApiError(422, "If you specify visibility or affiliation, you cannot specify type.")
    wanted = _affiliations(affiliation)
    if type in ("owner",):
        wanted = {"owner"}
    elif type == "member":
        wanted = {"collaborator", "organization_member"}
    if type in ("public", "private"):
        visibility = type
    owned = Q(owner_id=actor.user_id)
    shared = Q(pk__in=Collaborator.objects.filter(user_id=actor.user_id).values("repository_id"))
    affiliated = Q(pk__in=[])
    if "owner" in wanted:
        affiliated |= owned
    if "collaborator" in wanted:
        affiliated |= shared
    repos = Repository.objects.filter(readable_filter(actor)).filter(affiliated)
    if visibility in ("public", "private"):
        repos = repos.filter(is_private=visibility == "private")
    repos = _ordered(_dated(repos, since, before).select_related("owner"), sort, direction)
    return [repository_json(request, actor, r) for r in _page(page, per_page).take(request, response, repos)]


def _affiliations(text: str | None) -> set[str]:
    if text is None:
        return set(AFFILIATIONS)
    given = {part.strip() for part in text.split(",") if part.strip()}
    unknown = given - set(AFFILIATIONS)
    if unknown or not given:
        raise ApiError(422, "Validation Failed",
                       [{"resource": "Repository", "code": "invalid", "field": "affiliation",
                         "message": "affiliation is a comma-separated list of owner, collaborator and "
                                    "organization_member"}])
    return given


@router.get("/users/{username}/repos", response={200: list[RepositoryOut], **errors(404, 422)},
            summary="Repositories of a user that the caller may see")
def list_repositories_of_user(request, response: HttpResponse, username: str,
                              type: Literal["all", "owner", "member"] = "owner",
                              sort: Sort = "full_name", direction: Direction | None = None,
                              page: int = 1, per_page: int = 30):
    actor = api_actor(request)
    user = get_user(username)
    if user is None or not user.is_active:
        raise ApiError(404, "Not Found")
    owned = Q(owner=user)
    member = Q(pk__in=Collaborator.objects.filter(user=user).values("repository_id"))
    which = {"owner": owned, "member": member, "all": owned | member}[type]
    repos = Repository.objects.filter(readable_filter(actor)).filter(which).select_related("owner")
    repos = _ordered(repos, sort, direction)
    return [repository_json(request, actor, r) for r in _page(page, per_page).take(request, response, repos)]


__all__ = [
    "router",
    "write_initial_commit",
]
