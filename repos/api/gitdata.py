"""GitHub's Git database API, objects: blobs, trees, commits and annotated tags, read and written as
GitHub does (/repos/{o}/{r}/git/...); refs are in gitrefs.py.

Objects are created without moving any ref (objectwrite.store_objects: a checked pack, as a push
lands one); refs move only through write.write_and_move_ref (compare-and-swap, nothing written on
refusal) and are then announced with refs_written, as after a push. A repack keeps created but
unreferenced objects for two weeks, so a client may take its time between the blob and the ref."""
import base64
import binascii
import time
from datetime import UTC, datetime
from typing import Literal

from ninja import Field, Router, Schema

from accounts.access import WRITE
from accounts.selectors import actor_user
from forge.api import ApiError, api_url, errors, invalid
from repos.api.common import accessible, is_oid, repository_store
from repos.api.serializers import (
    UNSIGNED,
    GitCommitOut,
    api_message,
    git_actor,
    git_commit_json,
    iso_time,
)
from repos.refnames import ref_name_error
from repos.selectors import store_path
from repos.services import user_signature, write_tmp_dir
from repos.store import RepoStore
from repos.store.history import commit_info
from repos.store.objectwrite import (
    ObjectsRefused,
    TreeEdit,
    TreeEditError,
    build_tree,
    store_objects,
)
from repos.store.packformat import (
    OBJ_BLOB,
    OBJ_COMMIT,
    OBJ_TAG,
    OBJ_TREE,
    object_id,
)
from repos.store.trees import MODE_GITLINK, MODE_TREE, tree_entries
from repos.store.write import (
    Signature,
    commit_object,
)

router = Router(tags=["gitdata"])

TYPE_NAMES = {OBJ_COMMIT: "commit", OBJ_TREE: "tree", OBJ_BLOB: "blob", OBJ_TAG: "tag"}
OBJECT_PATHS = {OBJ_COMMIT: "commits", OBJ_TREE: "trees", OBJ_BLOB: "blobs", OBJ_TAG: "tags"}
MAX_TREE_ENTRIES = 100_000     # GitHub's limit for one (recursive) tree answer; beyond: truncated
EMPTY = "Git Repository is empty."
MODES = {"100644": 0o100644, "100755": 0o100755, "120000": 0o120000, "040000": MODE_TREE, "40000": MODE_TREE,
         "160000": MODE_GITLINK}
MODE_TYPES = {0o100644: "blob", 0o100755: "blob", 0o120000: "blob", MODE_TREE: "tree", MODE_GITLINK: "commit"}


# --- schemas --------------------------------------------------------------------------------------------

class GitObjectOut(Schema):
    type: str
    sha: str
    url: str


class BlobOut(Schema):
    sha: str
    node_id: str
    size: int
    url: str
    content: str
    encoding: str


class BlobIn(Schema):
    content: str
    encoding: str = "utf-8"


class ShaUrl(Schema):
    sha: str
    url: str


class TreeEntryOut(Schema):
    path: str
    mode: str
    type: str
    sha: str
    size: int | None = None
    url: str | None = None


class TreeOut(Schema):
    sha: str
    url: str
    tree: list[TreeEntryOut]
    truncated: bool


class TreeEntryIn(Schema):
    path: str
    mode: str
    type: Literal["blob", "tree", "commit"] | None = None
    sha: str | None = None
    content: str | None = None


class TreeIn(Schema):
    tree: list[TreeEntryIn]
    base_tree: str | None = None


class PersonIn(Schema):
    name: str
    email: str
    date: str | None = None


class CommitIn(Schema):
    message: str
    tree: str
    parents: list[str] = Field(default_factory=list)
    author: PersonIn | None = None
    committer: PersonIn | None = None
    signature: str | None = None


class TaggerOut(Schema):
    name: str
    email: str
    date: str


class TagOut(Schema):
    node_id: str
    tag: str
    sha: str
    url: str
    message: str
    tagger: TaggerOut
    object: GitObjectOut
    verification: dict


class TagIn(Schema):
    tag: str
    message: str
    object: str
    type: Literal["commit", "tree", "blob", "tag"]
    tagger: PersonIn | None = None


# --- helpers --------------------------------------------------------------------------------------------

def url(request, repo, path):
    return api_url(request, f"/repos/{repo.full_name}{path}")


def object_json(request, repo, type_num, oid):
    sha = oid.hex()
    return {"type": TYPE_NAMES.get(type_num, "commit"), "sha": sha,
            "url": url(request, repo, f"/git/{OBJECT_PATHS.get(type_num, 'commits')}/{sha}")}


def not_empty(store):
    if store.is_empty():
        raise ApiError(409, EMPTY)


def oid_or_none(text):
    text = (text or "").strip().lower()
    return bytes.fromhex(text) if is_oid(text) else None


def object_of_type(store, text, type_num):
    """The oid `text` names when the store has it as a `type_num`, else None."""
    oid = oid_or_none(text)
    if oid is None:
        return None
    info = store.reader.info(oid)
    return oid if info is not None and info[0] == type_num else None


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _require_utf8(resource: str, **fields) -> None:
    """Text that goes into an object must be UTF-8: JSON can carry lone surrogates, which cannot."""
    for field, value in fields.items():
        if not is_utf8(value or ""):
            raise invalid(f"{field} is not valid UTF-8 text", resource=resource, field=field)


def ref_target(store, name: str):
    """Where ref `name` points, or None (also for a name no ref can have, such as one that is
    not UTF-8 text)."""
    return store.ref(name) if is_utf8(name) else None


def writing_store(repo):
    return RepoStore.open(store_path(repo))


def _store_new(store, objects):
    try:
        store_objects(store, objects, write_tmp_dir())
    except (ObjectsRefused, ValueError) as error:
        raise ApiError(422, str(error)) from None


# --- blobs ----------------------------------------------------------------------------------------------

def _base64_lines(data: bytes) -> str:
    """GitHub's blob content: base64 in lines of 60 characters, each ending with a newline."""
    text = base64.b64encode(data).decode()
    return "".join(text[i:i + 60] + "\n" for i in range(0, len(text), 60))


@router.get("/repos/{owner}/{repo}/git/blobs/{sha}", response={200: BlobOut, **errors(404, 409, 422)},
            url_name="api-git-blob")
def get_git_blob(request, owner: str, repo: str, sha: str):
    _, repository = accessible(request, owner, repo)
    with repository_store(repository) as store:
        oid = object_of_type(store, sha, OBJ_BLOB)
        if oid is None:
            raise ApiError(404, "Not Found")
        _, data = store.get(oid)
    return {"sha": oid.hex(), "node_id": f"B_{oid.hex()}", "size": len(data),
            "url": url(request, repository, f"/git/blobs/{oid.hex()}"), "content": _base64_lines(data),
            "encoding": "base64"}


@router.post("/repos/{owner}/{repo}/git/blobs", response={201: ShaUrl, **errors(401, 403, 404, 409, 422)},
             url_name="api-git-blob-create")
def create_git_blob(request, owner: str, repo: str, body: BlobIn):
    _, repository = accessible(request, owner, repo, WRITE)
    if body.encoding in ("utf-8", "utf8"):
        data = body.content.encode("utf-8", "surrogatepass")
    elif body.encoding == "base64":
        try:
            data = base64.b64decode("".join(body.content.split()), validate=True)
        except (binascii.Error, ValueError):
            raise invalid("content is not valid Base64", resource="Blob", field="content") from None
    else:
        raise invalid(f"encoding {body.encoding!r} is not supported: use utf-8 or base64", resource="Blob",
                      field="encoding", code="invalid")
    oid = object_id(OBJ_BLOB, data)
    with writing_store(repository) as store:
        _store_new(store, {oid: (OBJ_BLOB, data)})
    return 201, {"sha": oid.hex(), "url": url(request, repository, f"/git/blobs/{oid.hex()}")}


# --- trees ----------------------------------------------------------------------------------------------

def _tree_at(store, text):
    """The tree `text` names: a tree's or commit's (or tag's) sha, or a branch or tag name."""
    oid = oid_or_none(text)
    if oid is None:
        oid = ref_target(store, "refs/heads/" + text) or ref_target(store, "refs/tags/" + text)
    if oid is None or store.reader.info(oid) is None:
        return None
    oid = store.reader.peel(oid)
    info = store.reader.info(oid)
    if info is None:
        return None
    if info[0] == OBJ_COMMIT:
        node = store.graph.node(oid)
        return node.tree if node else None
    return oid if info[0] == OBJ_TREE else None


def _tree_listing(request, repo, store, tree, recursive):
    """The entries of `tree` (recursive: of its subtrees too, each directory right before what it
    holds, as `git ls-tree -r -t` lists them) and whether the list was cut at MAX_TREE_ENTRIES."""
    entries = []
    stack = [iter([(b"", entry) for entry in tree_entries(store.get(tree)[1])])]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            continue
        if len(entries) >= MAX_TREE_ENTRIES:
            return entries, True
        prefix, (mode, name, oid) = step
        path = prefix + name
        kind = MODE_TYPES.get(mode, "blob")
        item = {"path": path.decode("utf-8", "replace"), "mode": f"{mode:06o}", "type": kind, "sha": oid.hex()}
        if kind == "blob":
            info = store.reader.info(oid)
            item["size"] = info[1] if info else 0
            item["url"] = url(request, repo, f"/git/blobs/{oid.hex()}")
        elif kind == "tree":
            item["url"] = url(request, repo, f"/git/trees/{oid.hex()}")
        entries.append(item)
        if recursive and kind == "tree":
            below = path + b"/"
            stack.append(iter([(below, entry) for entry in tree_entries(store.get(oid)[1])]))
    return entries, False


@router.get("/repos/{owner}/{repo}/git/trees/{path:sha}", response={200: TreeOut, **errors(404, 409, 422)},
            url_name="api-git-tree")
def get_git_tree(request, owner: str, repo: str, sha: str, recursive: str | None = None):
    _, repository = accessible(request, owner, repo)
    with repository_store(repository) as store:
        tree = _tree_at(store, sha)
        if tree is None:
            if store.is_empty():
                raise ApiError(409, EMPTY)
            raise ApiError(404, "Not Found")
        entries, truncated = _tree_listing(request, repository, store, tree, recursive is not None)
    return {"sha": tree.hex(), "url": url(request, repository, f"/git/trees/{tree.hex()}"), "tree": entries,
            "truncated": truncated}


def _tree_edit(store, index, entry: TreeEntryIn, new_blobs):
    field = f"tree[{index}]"
    mode = MODES.get(entry.mode)
    if mode is None:
        raise invalid(f"{field}.mode {entry.mode!r} is not one of 100644, 100755, 040000, 160000, 120000",
                      resource="Tree", field="mode")
    kind = entry.type or MODE_TYPES[mode]
    if kind != MODE_TYPES[mode]:
        raise invalid(f"{field}: type {kind} does not go with mode {entry.mode}", resource="Tree", field="type")
    _require_utf8("Tree", path=entry.path)
    path = entry.path.encode("utf-8")
    if entry.content is not None:
        if entry.sha is not None or kind != "blob":
            raise invalid(f"{field}: give either sha or content (content makes a blob)", resource="Tree",
                          field="content")
        data = entry.content.encode("utf-8", "surrogatepass")
        oid = object_id(OBJ_BLOB, data)
        new_blobs[oid] = (OBJ_BLOB, data)
        return TreeEdit(path, mode, oid)
    if entry.sha is None:
        return TreeEdit(path)   # sha: null removes the entry
    oid = oid_or_none(entry.sha)
    if oid is None:
        raise invalid(f"{field}.sha {entry.sha} is not a valid object id", resource="Tree", field="sha")
    if kind != "commit":
        wanted = OBJ_TREE if kind == "tree" else OBJ_BLOB
        info = store.reader.info(oid)
        if info is None or info[0] != wanted:
            raise invalid(f"{field}.sha {entry.sha} is not a valid {kind}", resource="Tree", field="sha")
    return TreeEdit(path, mode, oid)


@router.post("/repos/{owner}/{repo}/git/trees", response={201: TreeOut, **errors(401, 403, 404, 409, 422)},
             url_name="api-git-tree-create")
def create_git_tree(request, owner: str, repo: str, body: TreeIn):
    _, repository = accessible(request, owner, repo, WRITE)
    with writing_store(repository) as store:
        base = None
        if body.base_tree:
            base = object_of_type(store, body.base_tree, OBJ_TREE)
            if base is None:
                raise invalid("base_tree is not a valid tree", resource="Tree", field="base_tree")
        new_blobs = {}
        edits = [_tree_edit(store, index, entry, new_blobs) for index, entry in enumerate(body.tree)]
        try:
            root, trees = build_tree(store, base, edits)
        except TreeEditError as error:
            raise invalid(str(error), resource="Tree", field="path") from None
        _store_new(store, {**new_blobs, **trees})
        entries, truncated = _tree_listing(request, repository, store, root, False)
    return 201, {"sha": root.hex(), "url": url(request, repository, f"/git/trees/{root.hex()}"),
                 "tree": entries, "truncated": truncated}


# --- commits --------------------------------------------------------------------------------------------

@router.get("/repos/{owner}/{repo}/git/commits/{sha}", response={200: GitCommitOut, **errors(404, 409, 422)},
            url_name="api-git-commit")
def get_git_commit(request, owner: str, repo: str, sha: str):
    _, repository = accessible(request, owner, repo)
    with repository_store(repository) as store:
        oid = oid_or_none(sha)
        info = commit_info(store, oid) if oid else None
        if info is None:
            raise ApiError(404, "Not Found")
        return git_commit_json(request, repository, info)


def _when(text: str | None, field: str):
    """(epoch seconds, minutes east of UTC) from an ISO 8601 time (now, UTC, when absent)."""
    if not text:
        return int(time.time()), 0
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise invalid(f"{field}.date {text!r} is not an ISO 8601 time", resource="Commit", field=f"{field}.date") \
            from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    return int(moment.timestamp()), int(offset.total_seconds() // 60)


def _person(person: PersonIn | None, field: str, fallback: Signature) -> Signature:
    if person is None:
        return fallback
    _require_utf8("Commit", **{f"{field}.name": person.name, f"{field}.email": person.email})
    if not person.name.strip() or not person.email.strip():
        raise invalid(f"{field} needs a name and an email", resource="Commit", field=field)
    seconds, tz = _when(person.date, field) if person.date else (fallback.time, fallback.tz_minutes)
    return Signature(person.name, person.email, seconds, tz)


def _own_signature(actor) -> Signature:
    user = actor_user(actor)
    if user is None:
        return Signature(actor.name or "forge", f"{actor.name or 'forge'}@users.noreply.forge", int(time.time()))
    return user_signature(user)


@router.post("/repos/{owner}/{repo}/git/commits", response={201: GitCommitOut, **errors(401, 403, 404, 409, 422)},
             url_name="api-git-commit-create")
def create_git_commit(request, owner: str, repo: str, body: CommitIn):
    actor, repository = accessible(request, owner, repo, WRITE)
    _require_utf8("Commit", message=body.message)
    # GitHub's rule: the author defaults to the caller, the committer to the author.
    author = _person(body.author, "author", _own_signature(actor))
    committer = _person(body.committer, "committer", author)
    with writing_store(repository) as store:
        tree = object_of_type(store, body.tree, OBJ_TREE)
        if tree is None:
            raise ApiError(422, "Tree SHA does not exist")
        parents = []
        for text in body.parents:
            parent = object_of_type(store, text, OBJ_COMMIT)
            if parent is None:
                raise ApiError(422, "Parent SHA does not exist or is not a commit object")
            parents.append(parent)
        raw = commit_object(tree, parents, author, committer, body.message)
        oid = object_id(OBJ_COMMIT, raw)
        _store_new(store, {oid: (OBJ_COMMIT, raw)})
        info = commit_info(store, oid)
        return 201, git_commit_json(request, repository, info)


# --- annotated tags -------------------------------------------------------------------------------------

TAG_TYPES = {name: type_num for type_num, name in TYPE_NAMES.items()}


def _parse_tag(raw: bytes):
    head, _, message = raw.partition(b"\n\n")
    fields = {}
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        fields.setdefault(key.decode(), value.decode("utf-8", "replace"))
    return fields, message.decode("utf-8", "replace")


def _tagger_json(text: str):
    """'Name <email> 1234 +0200' -> GitHub's tagger (date in UTC)."""
    name, _, rest = text.partition(" <")
    email, _, when = rest.partition("> ")
    seconds = when.split(" ")[0]
    return git_actor(name, email, int(seconds) if seconds.lstrip("-").isdigit() else 0)


def _tag_json(request, repo, oid, raw):
    fields, message = _parse_tag(raw)
    target = bytes.fromhex(fields.get("object", "0" * 40))
    target_type = TAG_TYPES.get(fields.get("type"), OBJ_COMMIT)
    return {"node_id": f"TAG_{oid.hex()}", "tag": fields.get("tag", ""), "sha": oid.hex(),
            "url": url(request, repo, f"/git/tags/{oid.hex()}"), "message": api_message(message),
            "tagger": _tagger_json(fields.get("tagger", "")) if "tagger" in fields
            else {"name": "", "email": "", "date": iso_time(0)},
            "object": object_json(request, repo, target_type, target), "verification": UNSIGNED}


@router.get("/repos/{owner}/{repo}/git/tags/{sha}", response={200: TagOut, **errors(404, 409, 422)},
            url_name="api-git-tag")
def get_git_tag(request, owner: str, repo: str, sha: str):
    _, repository = accessible(request, owner, repo)
    with repository_store(repository) as store:
        oid = object_of_type(store, sha, OBJ_TAG)
        if oid is None:
            raise ApiError(404, "Not Found")
        return _tag_json(request, repository, oid, store.get(oid)[1])


@router.post("/repos/{owner}/{repo}/git/tags", response={201: TagOut, **errors(401, 403, 404, 409, 422)},
             url_name="api-git-tag-create")
def create_git_tag(request, owner: str, repo: str, body: TagIn):
    actor, repository = accessible(request, owner, repo, WRITE)
    _require_utf8("Tag", tag=body.tag, message=body.message)
    if ref_name_error(f"refs/tags/{body.tag}") or body.tag.startswith("-"):
        raise invalid(f"{body.tag!r} is not a valid tag name", resource="Tag", field="tag")
    tagger = _person(body.tagger, "tagger", _own_signature(actor))
    with writing_store(repository) as store:
        target = object_of_type(store, body.object, TAG_TYPES[body.type])
        if target is None:
            raise invalid("object does not exist or is not of the given type", resource="Tag", field="object")
        message = body.message if body.message.endswith("\n") or not body.message else body.message + "\n"
        raw = (f"object {target.hex()}\ntype {body.type}\ntag {body.tag}\n".encode()
               + b"tagger " + tagger.encode() + b"\n\n" + message.encode("utf-8"))
        oid = object_id(OBJ_TAG, raw)
        _store_new(store, {oid: (OBJ_TAG, raw)})
    return 201, _tag_json(request, repository, oid, raw)
