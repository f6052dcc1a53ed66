"""API routes about branches and tags: /repos/{owner}/{repo}/branches[/{branch}] and /tags, as
GitHub answers them. They read refs only (and one commit row for a single branch), so they are
cheap whatever the size of the history. An empty repository has no branches and no tags: GitHub
answers [] for both lists (not 409), and 404 "Branch not found" for any branch."""
import base64
import re
from urllib.parse import quote

from django.http import HttpResponse
from ninja import Field, Router, Schema

from forge.api import ApiError, Page, api_url, errors, web_url
from repos.api.common import repository_store
from repos.api.common import MOVED, accessible
from repos.api.serializers import CommitOut, ShaUrlOut, commit_json
from repos.store.history import commit_info

router = Router(tags=["branches"])

HEADS = "refs/heads/"
TAGS = "refs/tags/"


class ShortBranchOut(Schema):
    name: str
    commit: ShaUrlOut
    protected: bool


class StatusChecksOut(Schema):
    enforcement_level: str
    contexts: list[str]
    checks: list[dict]


class ProtectionOut(Schema):
    enabled: bool
    required_status_checks: StatusChecksOut


class BranchLinksOut(Schema):
    self: str
    html: str


class BranchOut(Schema):
    name: str
    commit: CommitOut
    links: BranchLinksOut = Field(alias="_links")  # pydantic keeps names with "_" private
    protected: bool
    protection: ProtectionOut
    protection_url: str


# Forge has no branch protection yet: every branch answers GitHub's shape for an unprotected one.
UNPROTECTED = {"enabled": False, "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}}


def _commit_url(request, repo, oid: bytes) -> str:
    return api_url(request, f"/repos/{repo.full_name}/commits/{oid.hex()}")


@router.get("/repos/{owner}/{repo}/branches", response={200: list[ShortBranchOut], **MOVED, **errors(404)},
            summary="List branches")
def list_branches(request, response: HttpResponse, owner: str, repo: str, protected: bool | None = None,
                  page: int = 1, per_page: int = 30):
    _, found = accessible(request, owner, repo)
    with repository_store(found) as store:
        heads = [(name[len(HEADS):], oid) for name, oid, _ in store.refs() if name.startswith(HEADS)]
    if protected:
        heads = []  # no branch is protected
    rows = Page(page, per_page).take(request, response, heads)
    return [{"name": name, "commit": {"sha": oid.hex(), "url": _commit_url(request, found, oid)},
             "protected": False} for name, oid in rows]


@router.get("/repos/{owner}/{repo}/branches/{path:branch}", response={200: BranchOut, **MOVED, **errors(404)},
            by_alias=True, summary="Get a branch")
def get_branch(request, owner: str, repo: str, branch: str):
    _, found = accessible(request, owner, repo)
    with repository_store(found) as store:
        oid = store.ref(HEADS + branch) if branch else None
        info = commit_info(store, oid) if oid is not None else None
    if info is None:
        raise ApiError(404, "Branch not found")
    quoted = quote(branch, safe="/", errors="surrogateescape")
    branch_url = api_url(request, f"/repos/{found.full_name}/branches/{quoted}")
    return {
        "name": branch,
        "commit": commit_json(request, found, info),
        "_links": {"self": branch_url, "html": web_url(request, f"/{found.full_name}/tree/{quoted}")},
        "protected": False,
        "protection": UNPROTECTED,
        "protection_url": branch_url + "/protection",
    }


class RepoTagOut(Schema):
    name: str
    commit: ShaUrlOut
    zipball_url: str
    tarball_url: str
    node_id: str


_VERSION_PARTS = re.compile(r"(\d+)")


def version_key(name: str):
    """Tag names compared as versions: runs of digits by value (v1.10 after v1.9), the rest as text."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _VERSION_PARTS.split(name) if part]


@router.get("/repos/{owner}/{repo}/tags", response={200: list[RepoTagOut], **MOVED, **errors(404)}, summary="List tags")
def list_tags(request, response: HttpResponse, owner: str, repo: str, page: int = 1, per_page: int = 30):
    """Newest version first: tag names in descending version order (digit runs by value), then
    descending by name for ties."""
    _, found = accessible(request, owner, repo)
    with repository_store(found) as store:
        tags = [(name[len(TAGS):], peeled or oid) for name, oid, peeled in store.refs() if name.startswith(TAGS)]
    tags.sort(key=lambda tag: (version_key(tag[0]), tag[0]), reverse=True)
    rows = Page(page, per_page).take(request, response, tags)
    archive = f"/{found.full_name}/archive/refs/tags/"
    result = []
    for name, oid in rows:
        quoted = quote(name, safe="/", errors="surrogateescape")
        node = base64.b64encode(f"Ref:{found.pk}:{TAGS}{name}".encode("utf-8", "surrogateescape")).decode()
        result.append({
            "name": name,
            "commit": {"sha": oid.hex(), "url": _commit_url(request, found, oid)},
            "zipball_url": web_url(request, archive + quoted + ".zip"),
            "tarball_url": web_url(request, archive + quoted + ".tar.gz"),
            "node_id": node,
        })
    return result
