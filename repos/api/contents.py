"""GitHub's contents API: /repos/{owner}/{repo}/contents[/{path}] read (a file with its content in
base64, or a directory's entries), written (PUT: create or update one file in one commit) and
deleted (DELETE), and /readme. Writes go through repos.edits (which commits with repos.store.edit);
a write needs push access, and updating or deleting needs the `sha` of the blob the caller saw, as
on GitHub (missing: 422, stale: 409)."""
import base64
import binascii
import posixpath
from datetime import datetime
from urllib.parse import quote

from django.http import HttpResponse
from ninja import Field, Router, Schema

from accounts.access import WRITE
from forge.api import ApiError, api_url, errors, invalid, web_url
from repos.api.common import repository_store
from repos.api.common import MOVED, accessible
from repos.api.serializers import GitCommitOut, git_commit_json
from repos.edits import EditError, Person, delete_file, put_file
from repos.store.browse import NotFound, list_tree, read_blob, resolve_commit
from repos.store.edit import entry_at, path_error
from repos.store.history import commit_info
from repos.store.trees import MODE_GITLINK, is_tree
from repos.views.common import PATH_SAFE

router = Router(tags=["contents"])

MAX_CONTENT_SIZE = 1024 * 1024     # GitHub gives content inline up to 1 MB
MAX_DIRECTORY_ENTRIES = 1000       # and lists up to 1,000 entries of a directory
MODE_SYMLINK = 0o120000
RAW_TYPES = ("application/vnd.github.raw", "application/vnd.github.v3.raw")
README_NAMES = ("readme.md", "readme", "readme.markdown", "readme.rst", "readme.txt", "readme.adoc",
                "readme.org")


class LinksOut(Schema):
    self: str
    git: str | None
    html: str | None


class ContentOut(Schema):
    """A file, directory entry, symlink or submodule as the contents API describes it; `content`
    and `encoding` only for a file asked for itself, `target` for a symlink, `submodule_git_url`
    for a submodule."""
    type: str
    size: int
    name: str
    path: str
    sha: str
    url: str
    git_url: str | None
    html_url: str | None
    download_url: str | None
    links: LinksOut = Field(alias="_links")
    encoding: str | None = None
    content: str | None = None
    target: str | None = None
    submodule_git_url: str | None = None


class FileCommitOut(Schema):
    content: ContentOut | None
    commit: GitCommitOut


class FilePersonIn(Schema):
    name: str
    email: str
    date: datetime | None = None


class FilePutIn(Schema):
    message: str
    content: str
    sha: str | None = None
    branch: str | None = None
    committer: FilePersonIn | None = None
    author: FilePersonIn | None = None


class FileDeleteIn(Schema):
    message: str
    sha: str | None = None
    branch: str | None = None
    committer: FilePersonIn | None = None
    author: FilePersonIn | None = None


# --- reading ------------------------------------------------------------------------------------------

def _quoted(path: str) -> str:
    # Names that are not UTF-8 (kept as surrogate escapes) are quoted byte for byte.
    return quote(path.encode("utf-8", "surrogateescape"), safe=PATH_SAFE)


def _shown(text: str) -> str:
    """JSON cannot carry a name that is not UTF-8: its bad bytes show as U+FFFD, as on GitHub."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _entry_json(request, repo, ref: str, path: str, mode: int, oid: bytes, size: int, *, listing: bool) -> dict:
    """One object of the contents API for the entry at `path`, read at `ref` (as the caller named it)."""
    name = path.rsplit("/", 1)[-1]
    base = f"/repos/{repo.full_name}"
    url = api_url(request, f"{base}/contents/{_quoted(path)}") + "?ref=" + quote(ref.encode("utf-8", "replace"), safe="")
    at = f"{_quoted(ref)}/{_quoted(path)}"
    if is_tree(mode):
        kind, git_url = "dir", api_url(request, f"{base}/git/trees/{oid.hex()}")
        html_url, download_url = web_url(request, f"/{repo.full_name}/tree/{at}"), None
    elif mode == MODE_GITLINK:
        # Listed as "file", as GitHub does for compatibility; "submodule" when asked for itself.
        kind = "file" if listing else "submodule"
        git_url, html_url, download_url = api_url(request, f"{base}/git/trees/{oid.hex()}"), None, None
    else:
        kind = "symlink" if mode == MODE_SYMLINK else "file"
        git_url = api_url(request, f"{base}/git/blobs/{oid.hex()}")
        html_url = web_url(request, f"/{repo.full_name}/blob/{at}")
        download_url = web_url(request, f"/{repo.full_name}/raw/{at}")
    return {"type": kind, "size": size, "name": _shown(name), "path": _shown(path), "sha": oid.hex(), "url": url,
            "git_url": git_url, "html_url": html_url, "download_url": download_url,
            "_links": {"self": url, "git": git_url, "html": html_url}}


def _file_json(request, repo, ref, path, mode, oid, data: bytes) -> dict:
    entry = _entry_json(request, repo, ref, path, mode, oid, len(data), listing=False)
    if len(data) > MAX_CONTENT_SIZE:
        entry.update(encoding="none", content="")
    else:
        entry.update(encoding="base64", content=base64.encodebytes(data).decode("ascii"))
    return entry


def _resolve_ref(repo, store, ref: str | None):
    """(ref as named, commit) or 404 as GitHub answers: an empty repository says so."""
    if not any(name.startswith("refs/heads/") for name, _, _ in store.refs()):
        raise ApiError(404, "This repository is empty.")
    name = ref or repo.default_branch
    try:
        _, commit = resolve_commit(store, name)
    except NotFound:
        raise ApiError(404, f"No commit found for the ref {name}") from None
    if store.graph.node(commit) is None:
        raise ApiError(404, f"No commit found for the ref {name}")
    return name, commit


def _symlink_target(path: str, target: bytes) -> str | None:
    """The repository path a relative symlink at `path` points to, or None if it leaves the tree."""
    try:
        text = target.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), text))
    return None if joined.startswith("..") or joined == "." or path_error(joined) else joined


def _contents(request, owner, repo_name, path: str, ref: str | None):
    _actor, repo = accessible(request, owner, repo_name)
    path = path.strip("/")
    if path and path_error(path):
        raise ApiError(404, "Not Found")
    with repository_store(repo) as store:
        name, commit = _resolve_ref(repo, store, ref)
        if not path:
            return _directory(request, repo, store, name, commit, "")
        found = entry_at(store, store.graph.node(commit).tree, path)
        if found is None:
            raise ApiError(404, "Not Found")
        mode, oid = found
        if is_tree(mode):
            return _directory(request, repo, store, name, commit, path)
        if mode == MODE_GITLINK:
            entry = _entry_json(request, repo, name, path, mode, oid, 0, listing=False)
            entry["submodule_git_url"] = _submodule_url(store, commit, path)
            return entry
        _entry, data = read_blob(store, commit, path)
        if mode == MODE_SYMLINK:
            target = _symlink_target(path, data)
            followed = entry_at(store, store.graph.node(commit).tree, target) if target else None
            if followed is not None and not is_tree(followed[0]) and followed[0] not in (MODE_GITLINK, MODE_SYMLINK):
                _entry, target_data = read_blob(store, commit, target)
                return _raw_or_json(request, _file_json(request, repo, name, target, followed[0], followed[1],
                                                        target_data), target_data)
            entry = _entry_json(request, repo, name, path, mode, oid, len(data), listing=False)
            entry["target"] = data.decode("utf-8", "replace")
            return entry
        return _raw_or_json(request, _file_json(request, repo, name, path, mode, oid, data), data)


def _submodule_url(store, commit, path: str) -> str:
    """The url .gitmodules gives the submodule at `path` ("" if it gives none)."""
    try:
        _entry, data = read_blob(store, commit, ".gitmodules")
    except NotFound:
        return ""
    section_path = url = None
    for line in data.decode("utf-8", "replace").splitlines() + ["[end]"]:
        line = line.strip()
        if line.startswith("["):
            if section_path == path and url:
                return url
            section_path = url = None
            continue
        key, _, value = line.partition("=")
        if key.strip() == "path":
            section_path = value.strip()
        elif key.strip() == "url":
            url = value.strip()
    return ""


def _raw_or_json(request, entry, data):
    """GitHub's raw media type answers the file's bytes themselves."""
    accept = request.headers.get("Accept", "")
    if any(kind in accept for kind in RAW_TYPES):
        return HttpResponse(data, content_type="application/octet-stream")
    return entry


def _directory(request, repo, store, ref, commit, path):
    entries = list_tree(store, commit, path)[:MAX_DIRECTORY_ENTRIES]
    entries.sort(key=lambda e: e.name)
    return [_entry_json(request, repo, ref, entry.path, entry.mode, entry.oid, entry.size or 0, listing=True)
            for entry in entries]


CONTENT_RESPONSES = {200: ContentOut | list[ContentOut], **MOVED, **errors(404)}


@router.get("/repos/{owner}/{repo}/contents", response=CONTENT_RESPONSES, by_alias=True, exclude_unset=True,
            summary="Get repository content (the root directory)")
def get_root_contents(request, owner: str, repo: str, ref: str | None = None):
    return _contents(request, owner, repo, "", ref)


@router.get("/repos/{owner}/{repo}/contents/", response=CONTENT_RESPONSES, by_alias=True, exclude_unset=True,
            include_in_schema=False)
def get_root_contents_slash(request, owner: str, repo: str, ref: str | None = None):
    # PyGithub asks for the root as .../contents/ (an empty path after the slash).
    return _contents(request, owner, repo, "", ref)


@router.get("/repos/{owner}/{repo}/contents/{path:path}", response=CONTENT_RESPONSES, by_alias=True,
            exclude_unset=True, summary="Get repository content")
def get_contents(request, owner: str, repo: str, path: str, ref: str | None = None):
    return _contents(request, owner, repo, path, ref)


@router.get("/repos/{owner}/{repo}/readme", response={200: ContentOut, **MOVED, **errors(404)}, by_alias=True,
            exclude_unset=True, summary="Get a repository README")
def get_readme(request, owner: str, repo: str, ref: str | None = None):
    return _readme(request, owner, repo, "", ref)


@router.get("/repos/{owner}/{repo}/readme/{path:dir}", response={200: ContentOut, **MOVED, **errors(404)},
            by_alias=True, exclude_unset=True, summary="Get a repository README for a directory")
def get_directory_readme(request, owner: str, repo: str, dir: str, ref: str | None = None):
    return _readme(request, owner, repo, dir.strip("/"), ref)


def _readme(request, owner, repo, directory: str, ref):
    _actor, found = accessible(request, owner, repo)
    if directory and path_error(directory):
        raise ApiError(404, "Not Found")
    with repository_store(found) as store:
        name, commit = _resolve_ref(found, store, ref)
        try:
            entries = list_tree(store, commit, directory)
        except NotFound:
            raise ApiError(404, "Not Found") from None
        for entry in entries:
            if entry.kind == "blob" and entry.name.lower() in README_NAMES:
                _entry, data = read_blob(store, commit, entry.path)
                return _raw_or_json(request, _file_json(request, found, name, entry.path, entry.mode, entry.oid,
                                                        data), data)
    raise ApiError(404, "Not Found")


# --- writing ------------------------------------------------------------------------------------------

def person_from(value: FilePersonIn | None) -> Person | None:
    if value is None:
        return None
    seconds = int(value.date.timestamp()) if value.date else None
    offset = value.date.utcoffset() if value.date and value.date.tzinfo else None
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return Person(value.name, value.email, seconds, minutes)


def _edit_error(error: EditError) -> ApiError:
    status = {"not_found": 404, "conflict": 409, "forbidden": 403}.get(error.kind)
    if status:
        return ApiError(status, str(error))
    if error.field == "sha":
        return ApiError(422, str(error))
    return invalid(str(error), resource="Content", field=error.field or "path")


def _checked_path(path: str) -> str:
    error = path_error(path)
    if error:
        raise invalid(f"path {error}", resource="Content", field="path")
    return path


def _commit_json(request, repo, oid):
    with repository_store(repo) as store:
        return git_commit_json(request, repo, commit_info(store, oid))


@router.put("/repos/{owner}/{repo}/contents/{path:path}",
            response={200: FileCommitOut, 201: FileCommitOut, **MOVED, **errors(401, 403, 404, 409, 422)},
            by_alias=True, exclude_unset=True, summary="Create or update file contents")
def put_contents(request, owner: str, repo: str, path: str, body: FilePutIn):
    actor, found = accessible(request, owner, repo, WRITE)
    path = _checked_path(path)
    try:
        content = base64.b64decode("".join(body.content.split()), validate=True)
    except (binascii.Error, ValueError):
        raise invalid("content is not valid Base64", resource="Content", field="content") from None
    try:
        written = put_file(actor, found, path, content, message=body.message, branch=body.branch, sha=body.sha,
                           author=person_from(body.author), committer=person_from(body.committer))
    except EditError as error:
        raise _edit_error(error) from None
    entry = _entry_json(request, found, written.branch, path, written.mode, written.blob, written.size,
                        listing=False)
    return (201 if written.created else 200), {"content": entry,
                                               "commit": _commit_json(request, found, written.committed.commit)}


@router.delete("/repos/{owner}/{repo}/contents/{path:path}",
               response={200: FileCommitOut, **MOVED, **errors(401, 403, 404, 409, 422)},
               by_alias=True, exclude_unset=True, summary="Delete a file")
def delete_contents(request, owner: str, repo: str, path: str, body: FileDeleteIn):
    actor, found = accessible(request, owner, repo, WRITE)
    path = _checked_path(path)
    try:
        written = delete_file(actor, found, path, message=body.message, sha=body.sha, branch=body.branch,
                              author=person_from(body.author), committer=person_from(body.committer))
    except EditError as error:
        raise _edit_error(error) from None
    return 200, {"content": None, "commit": _commit_json(request, found, written.committed.commit)}
