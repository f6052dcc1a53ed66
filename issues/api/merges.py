"""/repos/{owner}/{repo}/pulls/{number}/merge: whether a pull request is merged (204 or 404), and
merging it (issues.pulls.merge_pull_request) with GitHub's answers: 405 when it cannot be merged
(conflicts, closed, merged, a branch gone), 409 when the head is not the `sha` the caller saw
(nothing is merged then)."""
from ninja import Router, Schema

from accounts.scopes import PULLS_MERGE
from forge.api import ApiError, errors, invalid
from issues import permissions, pulls, services
from issues.api.pulls import pull_or_404
from issues.models import PullRequest
from repos.api.common import accessible, repository_store
from repos.store.pullmerge import METHODS

router = Router(tags=["pulls"])

NOT_MERGEABLE = "Pull Request is not mergeable"
HEAD_MODIFIED = "Head branch was modified. Review and try the merge again."
BASE_MODIFIED = "Base branch was modified. Review and try the merge again."


class MergeIn(Schema):
    commit_title: str | None = None
    commit_message: str | None = None
    sha: str | None = None
    merge_method: str | None = None


class MergeOut(Schema):
    sha: str
    merged: bool
    message: str


@router.get("/repos/{owner}/{repo}/pulls/{number}/merge", response={204: None, **errors(404, 422)},
            summary="Check if a pull request has been merged")
def check_pull_request_merged(request, owner: str, repo: str, number: int):
    _, found = accessible(request, owner, repo)
    pull = pull_or_404(found, number)
    if not pull.is_merged:
        raise ApiError(404, "Not Found")
    return 204, None


def merge_message(pull, method: str, title: str | None, message: str | None) -> str | None:
    """GitHub's commit_title and commit_message as one commit message (None: the default one)."""
    if not title and not message:
        return None
    title = title or pulls.default_message(pull, method).split("\n", 1)[0]
    return f"{title}\n\n{message}\n" if message else f"{title}\n"


def _refuse_merge(actor) -> ApiError:
    if actor.is_anonymous:
        return ApiError(401, "Requires authentication")
    if not actor.has_scope(PULLS_MERGE):
        return ApiError(403, "Resource not accessible by personal access token")
    return ApiError(403, "Must have push access to merge pull requests.")


def _mergeable(pull) -> bool:
    return (not pull.is_merged and pull.issue.is_open
            and pull.merge_state not in (PullRequest.CONFLICT, PullRequest.GONE))


@router.put("/repos/{owner}/{repo}/pulls/{number}/merge",
            response={200: MergeOut, **errors(401, 403, 404, 405, 409, 422)}, summary="Merge a pull request")
def merge_pull_request(request, owner: str, repo: str, number: int, body: MergeIn | None = None):
    actor, found = accessible(request, owner, repo)
    body = body or MergeIn()
    pull = pull_or_404(found, number)
    method = body.merge_method or "merge"
    if method not in METHODS:
        raise invalid(f"merge_method must be one of {', '.join(METHODS)}", resource="PullRequest",
                      field="merge_method")
    if not permissions.can_merge(actor, found):
        raise _refuse_merge(actor)
    with repository_store(found) as store:
        pulls.refresh(pull, store)
    if not _mergeable(pull):
        raise ApiError(405, NOT_MERGEABLE)
    expected = (body.sha or "").strip().lower() or None
    if expected and expected != pull.head_oid:
        raise ApiError(409, HEAD_MODIFIED)
    try:
        merged = pulls.merge_pull_request(actor, pull, method, expected_head=expected,
                                          message=merge_message(pull, method, body.commit_title, body.commit_message))
    except services.NotAllowed:
        raise _refuse_merge(actor) from None
    except services.InvalidInput as error:
        raise invalid(str(error), resource="PullRequest", field="merge_method") from None
    except pulls.MergeFailed as failure:
        # Something changed since the checks above: tell which side moved, as GitHub does.
        if expected and expected != pull.head_oid:
            raise ApiError(409, HEAD_MODIFIED) from None
        if not failure.conflicts and _mergeable(pull) and "moved" in str(failure):
            raise ApiError(409, BASE_MODIFIED) from None
        raise ApiError(405, NOT_MERGEABLE) from None
    return {"sha": merged.new_tip.hex(), "merged": True, "message": "Pull Request successfully merged"}
