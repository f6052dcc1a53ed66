"""Forge's own history edits for agent workflows (GitHub has no such routes, hence /forge/):
POST /repos/{o}/{r}/forge/cherry-pick and /forge/revert {sha, branch, expected_sha?, message?,
mainline?} -> 201 with the new commit as GET /commits/{sha} gives it.

The work is repos/store/pick.py (a three-way merge with the merge engine, written as a push lands,
the branch moved by compare-and-swap); a conflict, a branch that moved or a change that is already
there answers 409 / 422 and writes nothing. Needs write access (repo:write for tokens)."""
from ninja import Router, Schema

from accounts.access import WRITE
from accounts.selectors import actor_user
from forge.api import ApiError, errors, invalid
from repos.api.common import accessible, is_oid
from repos.api.serializers import CommitOut, commit_json
from repos.refnames import branch_name_error
from repos.selectors import store_path
from repos.services import refs_written, user_signature, write_tmp_dir
from repos.store import RepoStore
from repos.store.history import commit_info
from repos.store.pick import CHERRY_PICK, REVERT, EmptyPick, PickConflict, PickRefused, pick
from repos.store.write import RefMoved, WriteRefused

router = Router(tags=["picks"])
BRANCH = "refs/heads/"


class PickIn(Schema):
    sha: str
    branch: str
    expected_sha: str | None = None
    message: str | None = None
    mainline: int | None = None


def _branch_ref(name: str) -> str:
    name = (name or "").strip()
    if name.startswith(BRANCH):
        name = name[len(BRANCH):]
    if not name or len(name) > 255 or branch_name_error(name):
        raise invalid(f"{name!r} is not a branch name", resource="Commit", field="branch")
    return BRANCH + name


def apply_pick(actor, repo, action: str, data: PickIn):
    """Cherry-pick or revert data.sha onto data.branch for `actor`; -> (new commit oid, store
    path). Raises ApiError: 404 unknown branch, 409 conflict or moved branch, 422 bad input."""
    ref = _branch_ref(data.branch)
    if not is_oid(data.sha or ""):
        raise invalid("sha must be a 40-character commit id", resource="Commit", field="sha")
    if data.expected_sha is not None and not is_oid(data.expected_sha):
        raise invalid("expected_sha must be a 40-character commit id", resource="Commit", field="expected_sha")
    if data.message is not None and ("\0" in data.message or len(data.message) > 1 << 20):
        raise invalid("message must be text without NUL characters, at most 1 MB", resource="Commit",
                      field="message")
    if data.mainline is not None and not 1 <= data.mainline <= 64:
        raise invalid("mainline must be a parent number (1-based)", resource="Commit", field="mainline")
    user = actor_user(actor)
    if user is None:
        raise ApiError(401, "Requires authentication")
    with RepoStore.open(store_path(repo)) as store:
        if store.ref(ref) is None:
            raise ApiError(404, f"Branch not found: {ref[len(BRANCH):]}")
        try:
            done = pick(store, action, ref=ref, commit=bytes.fromhex(data.sha.lower()), committer=user_signature(user),
                        expected_tip=bytes.fromhex(data.expected_sha.lower()) if data.expected_sha else None,
                        message=data.message or None, mainline=data.mainline, tmp_dir=write_tmp_dir())
        except PickConflict as conflict:
            raise ApiError(409, f"Merge conflict: the {action} of {data.sha} conflicts in "
                                f"{', '.join(conflict.paths)}; nothing was written.") from None
        except RefMoved:
            raise ApiError(409, f"{ref[len(BRANCH):]} is not at the expected commit (someone pushed); "
                                "nothing was written.") from None
        except EmptyPick as empty:
            raise ApiError(422, f"Nothing to commit: {empty}.") from None
        except PickRefused as refused:
            raise invalid(str(refused), resource="Commit", field="mainline" if "mainline" in str(refused)
                          or "parent" in str(refused) else "sha") from None
        except WriteRefused as refused:
            raise ApiError(422, f"The write was refused: {refused}") from None
        info = commit_info(store, done.new_tip)
    refs_written(repo, actor, [(ref, done.old_tip, done.new_tip)])
    return info


def _answer(request, action, owner, repo, data):
    actor, repository = accessible(request, owner, repo, WRITE)
    info = apply_pick(actor, repository, action, data)
    with RepoStore.open(store_path(repository)) as store:
        return 201, commit_json(request, repository, info, store=store, with_files=True)


@router.post("/repos/{owner}/{repo}/forge/cherry-pick", response={201: CommitOut, **errors(400, 401, 403, 404, 409, 422)},
             summary="Cherry-pick a commit onto a branch (Forge)")
def forge_cherry_pick(request, owner: str, repo: str, data: PickIn):
    return _answer(request, CHERRY_PICK, owner, repo, data)


@router.post("/repos/{owner}/{repo}/forge/revert", response={201: CommitOut, **errors(400, 401, 403, 404, 409, 422)},
             summary="Revert a commit on a branch (Forge)")
def forge_revert(request, owner: str, repo: str, data: PickIn):
    return _answer(request, REVERT, owner, repo, data)
