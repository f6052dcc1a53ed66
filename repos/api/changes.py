"""Forge's agent workflow, one call for what takes a script five on GitHub (blobs, tree, commit, ref,
pull request): POST /repos/{owner}/{repo}/forge/changes commits a set of file changes on a NEW
branch made from a base branch, and opens a pull request from it when asked.

All or nothing: a change that cannot apply (a missing file to delete or move, a path clash, a bad
path) is 422 naming the change, and a base that moved since the agent read it (`expected_sha`) is
409; then no branch, commit or pull request exists. The branch and its commit land in one
compare-and-swap write; should the pull request then fail to open, the branch is deleted again
(only if nobody moved it meanwhile) and the answer says so.

Rights: push access (repo:write for an agent) for the branch; opening the pull request also needs
what issues.permissions.can_open asks (issues:write for an agent), checked before anything is written."""
import base64
import binascii

from ninja import Router, Schema

from accounts.access import WRITE
from forge.api import ApiError, api_url, errors, invalid, web_url
from repos.api.common import repository_store
from repos.api.contents import FilePersonIn, person_from
from repos.api.common import MOVED, accessible
from repos.api.serializers import CommitOut, commit_json
from repos.edits import Change, EditError, propose_changes
from repos.store.history import commit_info

router = Router(tags=["changes"])

MODES = {"100644": 0o100644, "100755": 0o100755, "120000": 0o120000}


class ChangeIn(Schema):
    path: str
    content: str | None = None           # text (UTF-8)
    content_base64: str | None = None    # or bytes, in base64
    delete: bool = False
    move_from: str | None = None
    mode: str | None = None              # "100644", "100755" or "120000"; default: kept, or 100644


class PullRequestIn(Schema):
    title: str
    body: str | None = None


class ChangesIn(Schema):
    branch: str
    message: str
    changes: list[ChangeIn]
    base: str | None = None
    expected_sha: str | None = None
    pull_request: PullRequestIn | None = None
    author: FilePersonIn | None = None


class BranchRefOut(Schema):
    name: str
    sha: str


class PullRefOut(Schema):
    ref: str
    sha: str


class PullSummaryOut(Schema):
    number: int
    url: str
    html_url: str
    state: str
    title: str
    head: PullRefOut
    base: PullRefOut


class ChangesOut(Schema):
    commit: CommitOut
    branch: BranchRefOut
    pull_request: PullSummaryOut | None


def _change_error(index: int, message: str, field: str = "path") -> ApiError:
    return ApiError(422, "Validation Failed", [{"resource": "Change", "field": f"changes[{index}].{field}",
                                                "code": "invalid", "message": f"change {index}: {message}"}])


def _to_change(index: int, item: ChangeIn) -> Change:
    if item.content is not None and item.content_base64 is not None:
        raise _change_error(index, "give content or content_base64, not both", "content")
    content = None
    if item.content is not None:
        content = item.content.encode("utf-8", "surrogatepass")
    elif item.content_base64 is not None:
        try:
            content = base64.b64decode("".join(item.content_base64.split()), validate=True)
        except (binascii.Error, ValueError):
            raise _change_error(index, "content_base64 is not valid Base64", "content_base64") from None
    mode = None
    if item.mode is not None:
        mode = MODES.get(item.mode)
        if mode is None:
            raise _change_error(index, "mode must be 100644, 100755 or 120000", "mode")
    if item.delete:
        if content is not None or item.move_from is not None:
            raise _change_error(index, "a delete takes no content and no move_from", "delete")
        return Change.remove(item.path)
    if item.move_from is not None:
        return Change.move(item.move_from, item.path, content, mode)
    if content is None:
        raise _change_error(index, "give content, content_base64, delete or move_from", "content")
    return Change.write(item.path, content, mode)


def _pull_json(request, repo, pull_issue, branch, head_sha, base, base_sha) -> dict:
    number = pull_issue.number
    return {"number": number, "url": api_url(request, f"/repos/{repo.full_name}/pulls/{number}"),
            "html_url": web_url(request, f"/{repo.full_name}/pulls/{number}"),
            "state": "open" if pull_issue.is_open else "closed", "title": pull_issue.title,
            "head": {"ref": branch, "sha": head_sha}, "base": {"ref": base, "sha": base_sha}}


@router.post("/repos/{owner}/{repo}/forge/changes",
             response={201: ChangesOut, **MOVED, **errors(401, 403, 404, 409, 422)},
             summary="Commit changes on a new branch and open a pull request (Forge)")
def post_changes(request, owner: str, repo: str, body: ChangesIn):
    actor, found = accessible(request, owner, repo, WRITE)
    changes = [_to_change(index, item) for index, item in enumerate(body.changes)]
    pull_request = (body.pull_request.title, body.pull_request.body or "") if body.pull_request else None
    try:
        proposed = propose_changes(actor, found, branch=body.branch, changes=changes, message=body.message,
                                   base=body.base, expected_sha=body.expected_sha, author=person_from(body.author),
                                   pull_request=pull_request)
    except EditError as error:
        if error.index is not None:
            raise _change_error(error.index, str(error).split(": ", 1)[-1]) from None
        status = {"not_found": 404, "conflict": 409, "forbidden": 403}.get(error.kind)
        if status:
            raise ApiError(status, str(error)) from None
        raise invalid(str(error), resource="Changes", field=error.field) from None
    committed = proposed.committed
    with repository_store(found) as store:
        commit = commit_json(request, found, commit_info(store, committed.commit), store=store, with_files=True)
    pull = None
    if proposed.pull is not None:
        pull = _pull_json(request, found, proposed.pull, proposed.branch, committed.commit.hex(), proposed.base,
                          proposed.base_tip.hex())
    return 201, {"commit": commit, "branch": {"name": proposed.branch, "sha": committed.commit.hex()},
                 "pull_request": pull}
