"""GitHub's Git database API, refs: list, match, read, create, move (with `force`) and delete
(/repos/{o}/{r}/git/refs...). A ref moves only through write.write_and_move_ref (compare-and-swap,
nothing written on refusal) and is then announced with refs_written, as after a push."""
import base64

from django.http import HttpResponse
from ninja import Router, Schema

from accounts.access import WRITE
from forge.api import ApiError, Page, errors
from repos.api.common import accessible, repository_store
from repos.api.gitdata import (
    GitObjectOut,
    is_utf8,
    not_empty,
    object_json,
    ref_target,
    oid_or_none,
    url,
    writing_store,
)
from repos.refnames import ref_name_error
from repos.services import refs_written, write_tmp_dir
from repos.store.packformat import OBJ_COMMIT, ZERO_OID
from repos.store.write import RefMoved, WriteRefused, write_and_move_ref

router = Router(tags=["git"])


class RefOut(Schema):
    ref: str
    node_id: str
    url: str
    object: GitObjectOut


class RefIn(Schema):
    ref: str
    sha: str


class RefUpdateIn(Schema):
    sha: str
    force: bool = False



def _ref_json(request, repo, store, name, oid):
    info = store.reader.info(oid)
    node = base64.b64encode(f"ref:{repo.pk}:{name}".encode()).decode()
    return {"ref": name, "node_id": f"REF_{node}", "url": url(request, repo, f"/git/{name}"),
            "object": object_json(request, repo, info[0] if info else OBJ_COMMIT, oid)}



def _full_ref(ref: str) -> str:
    return "refs/" + ref.strip("/")



def _move(request, actor, repo, store, name, old, new):
    """Move `name` from `old` to `new` (ZERO_OID: delete) by compare-and-swap and announce it."""
    try:
        outcome = write_and_move_ref(store, {}, name, old, new, write_tmp_dir())
    except RefMoved:
        raise ApiError(422, "Reference cannot be updated") from None
    except WriteRefused:
        raise ApiError(422, "Reference update failed") from None
    refs_written(repo, actor, [(name, old or ZERO_OID, new)], outcome.new_head)



# --- refs -----------------------------------------------------------------------------------------------

@router.get("/repos/{owner}/{repo}/git/refs", response={200: list[RefOut], **errors(404, 409)},
            url_name="api-git-refs")
def list_git_refs(request, response: HttpResponse, owner: str, repo: str, page: int = 1, per_page: int = 30):
    _, repository = accessible(request, owner, repo)
    with repository_store(repository) as store:
        not_empty(store)
        refs = store.refs()
        chosen = Page(page, per_page).take(request, response, refs)
        return [_ref_json(request, repository, store, name, oid) for name, oid, _ in chosen]


@router.get("/repos/{owner}/{repo}/git/matching-refs/{path:ref}", response={200: list[RefOut], **errors(404, 409)},
            url_name="api-git-matching-refs")
def list_matching_git_refs(request, response: HttpResponse, owner: str, repo: str, ref: str, page: int = 1,
                           per_page: int = 30):
    _, repository = accessible(request, owner, repo)
    prefix = "refs/" + ref.lstrip("/")
    with repository_store(repository) as store:
        not_empty(store)
        refs = [row for row in store.refs() if row[0].startswith(prefix)]
        chosen = Page(page, per_page).take(request, response, refs)
        return [_ref_json(request, repository, store, name, oid) for name, oid, _ in chosen]


@router.get("/repos/{owner}/{repo}/git/ref/{path:ref}", response={200: RefOut, **errors(404, 409)},
            url_name="api-git-ref")
def get_git_ref(request, owner: str, repo: str, ref: str):
    _, repository = accessible(request, owner, repo)
    name = _full_ref(ref)
    with repository_store(repository) as store:
        not_empty(store)
        oid = ref_target(store, name)
        if oid is None:
            raise ApiError(404, "Not Found")
        return _ref_json(request, repository, store, name, oid)


@router.get("/repos/{owner}/{repo}/git/refs/{path:ref}", response={200: RefOut | list[RefOut], **errors(404, 409)},
            url_name="api-git-refs-one")
def get_git_ref_legacy(request, owner: str, repo: str, ref: str):
    """The older form: one ref when `ref` names one exactly, else the refs it is a prefix of."""
    _, repository = accessible(request, owner, repo)
    name = _full_ref(ref)
    with repository_store(repository) as store:
        not_empty(store)
        oid = ref_target(store, name)
        if oid is not None:
            return _ref_json(request, repository, store, name, oid)
        below = [(n, o) for n, o, _ in store.refs() if n.startswith(name + "/")]
        if not below:
            raise ApiError(404, "Not Found")
        return [_ref_json(request, repository, store, n, o) for n, o in below]


@router.post("/repos/{owner}/{repo}/git/refs", response={201: RefOut, **errors(401, 403, 404, 409, 422)},
             url_name="api-git-refs-create")
def create_git_ref(request, owner: str, repo: str, body: RefIn):
    actor, repository = accessible(request, owner, repo, WRITE)
    name = body.ref.strip()
    if not name.startswith("refs/") or name.count("/") < 2:
        raise ApiError(422, "Reference name must contain at least three slash-separated components.")
    if ref_name_error(name) or not is_utf8(name):
        raise ApiError(422, f"{name} is not a valid ref name.")
    with writing_store(repository) as store:
        oid = oid_or_none(body.sha)
        if oid is None or store.reader.info(oid) is None:
            raise ApiError(422, "Object does not exist")
        if ref_target(store, name) is not None:
            raise ApiError(422, "Reference already exists")
        _move(request, actor, repository, store, name, None, oid)
        return 201, _ref_json(request, repository, store, name, oid)


@router.patch("/repos/{owner}/{repo}/git/refs/{path:ref}", response={200: RefOut, **errors(401, 403, 404, 409, 422)},
              url_name="api-git-refs-update")
def update_git_ref(request, owner: str, repo: str, ref: str, body: RefUpdateIn):
    actor, repository = accessible(request, owner, repo, WRITE)
    name = _full_ref(ref)
    with writing_store(repository) as store:
        current = ref_target(store, name) if not ref_name_error(name) else None
        if current is None:
            raise ApiError(422, "Reference does not exist")
        oid = oid_or_none(body.sha)
        if oid is None or store.reader.info(oid) is None:
            raise ApiError(422, "Object does not exist")
        if oid != current:
            if not body.force and not _fast_forward(store, current, oid):
                raise ApiError(422, "Update is not a fast forward")
            _move(request, actor, repository, store, name, current, oid)
        return _ref_json(request, repository, store, name, oid)


def _fast_forward(store, old, new) -> bool:
    old_commit, new_commit = store.reader.peel(old), store.reader.peel(new)
    commit = (OBJ_COMMIT,)
    if (store.reader.info(old_commit) or (0,))[0] not in commit or \
            (store.reader.info(new_commit) or (0,))[0] not in commit:
        return False
    return store.graph.is_ancestor(old_commit, new_commit)


@router.delete("/repos/{owner}/{repo}/git/refs/{path:ref}", response={204: None, **errors(401, 403, 404, 409, 422)},
               url_name="api-git-refs-delete")
def delete_git_ref(request, owner: str, repo: str, ref: str):
    actor, repository = accessible(request, owner, repo, WRITE)
    name = _full_ref(ref)
    with writing_store(repository) as store:
        current = ref_target(store, name) if not ref_name_error(name) else None
        if current is None:
            raise ApiError(422, "Reference does not exist")
        _move(request, actor, repository, store, name, current, ZERO_OID)
    return 204, None
