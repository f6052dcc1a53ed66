"""What every repository route of the API shares: the access check with GitHub's answers, the
borrowed store, object ids and the repository's JSON."""
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import quote

from ninja import Schema

from accounts.access import ADMIN_ACCESS, READ, WRITE, AccessError, access_repo, allowed_needs
from accounts.api import UserOut, user_json
from forge.api import API_PREFIX, ApiError, api, api_actor, api_url, web_url
from repos.selectors import store_path
from repos.views.common import PATH_SAFE, STORES, is_old_name

HEX = set("0123456789abcdef")


class Permissions(Schema):
    admin: bool
    push: bool
    pull: bool


class RepositoryOut(Schema):
    id: int
    node_id: str
    name: str
    full_name: str
    private: bool
    visibility: str
    owner: UserOut
    description: str | None
    fork: bool = False
    default_branch: str
    html_url: str
    clone_url: str
    url: str
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime | None
    permissions: Permissions | None = None


def repository_json(request, actor, repo) -> dict:
    needs = allowed_needs(actor, repo)
    base = f"/repos/{repo.full_name}"
    data = {
        "id": repo.pk,
        "node_id": f"R_{repo.pk}",
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.is_private,
        "visibility": "private" if repo.is_private else "public",
        "owner": user_json(request, repo.owner),
        "description": repo.description or None,
        "fork": False,
        "default_branch": repo.default_branch,
        "html_url": web_url(request, f"/{repo.full_name}"),
        "clone_url": web_url(request, f"/{repo.full_name}.git"),
        "url": api_url(request, base),
        "created_at": repo.created_at,
        "updated_at": repo.updated_at,
        "pushed_at": repo.pushed_at,
    }
    if not actor.is_anonymous:
        data["permissions"] = {"admin": ADMIN_ACCESS in needs, "push": WRITE in needs, "pull": READ in needs}
    return data


# --- old names: GitHub's redirect ---------------------------------------------------------------------

REDIRECT_DOCUMENTATION_URL = "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"


class MovedOut(Schema):
    """GitHub's body for a renamed repository's redirect."""
    message: str
    url: str
    documentation_url: str


MOVED = {301: MovedOut, 307: MovedOut}


class RepositoryMoved(Exception):
    """Answered with a redirect to `location` (301 for GET and HEAD, 307 for methods that must keep their body)."""

    def __init__(self, location: str, status: int):
        super().__init__(location)
        self.location = location
        self.status = status


def _moved(request, error: RepositoryMoved):
    message = "Moved Permanently" if error.status == 301 else "Temporary Redirect"
    response = api.create_response(request, {"message": message, "url": error.location,
                                             "documentation_url": REDIRECT_DOCUMENTATION_URL},
                                   status=error.status)
    response["Location"] = error.location
    return response


api.add_exception_handler(RepositoryMoved, _moved)


def redirect_if_renamed(request, owner: str, name: str, repo) -> None:
    """Raise RepositoryMoved when /repos/OWNER/NAME/... reached `repo` through one of its old
    names: the same path and query with OWNER/NAME replaced by the name it has now."""
    if not is_old_name(repo, owner, name):
        return
    prefix = f"{API_PREFIX}/repos/"
    path = request.path
    start = path.find(prefix)
    rest = path[start + len(prefix):].split("/", 2)[2:] if start >= 0 else []
    new_path = path[:max(start, 0)] + prefix + "/".join([repo.owner.username, repo.name, *rest])
    location = request.build_absolute_uri(quote(new_path, safe=PATH_SAFE))
    if request.META.get("QUERY_STRING"):
        location += "?" + request.META["QUERY_STRING"]
    raise RepositoryMoved(location, 301 if request.method in ("GET", "HEAD") else 307)


def accessible(request, owner: str, name: str, need: str = READ):
    """(actor, repository) if the caller may `need` it, with GitHub's answers otherwise: 404 for a
    repository the caller may not see (by its name or an old one), a redirect for an old name of
    one it may see, 401 or 403 for one it may see but not change."""
    actor = api_actor(request)
    try:
        repo = access_repo(actor, owner, name, READ)
    except AccessError:
        raise ApiError(404, "Not Found") from None
    redirect_if_renamed(request, owner, name, repo)
    if need != READ and need not in allowed_needs(actor, repo):
        if actor.is_anonymous:
            raise ApiError(401, "Requires authentication")
        raise ApiError(403, "Must have admin rights to Repository." if need == ADMIN_ACCESS
                       else "Permission to push to this repository denied.")
    return actor, repo


@contextmanager
def repository_store(repo):
    """The repository's store, borrowed from the process's pool for the block."""
    with STORES.borrow(store_path(repo)) as store:
        yield store


def parse_oid(text: str, what: str = "sha") -> bytes:
    """20 bytes from 40 hex digits, or 422 saying which field is wrong."""
    text = (text or "").strip().lower()
    if len(text) != 40 or not set(text) <= HEX:
        raise ApiError(422, f"{what} must be a 40-character hexadecimal object id")
    return bytes.fromhex(text)


def is_oid(text: str) -> bool:
    return len(text) == 40 and set(text.lower()) <= HEX
