"""/repos/{owner}/{repo}/pulls: listing, opening, reading and editing pull requests, their commits
and files. `pull_json(request, pull, ...)` is the pull request's JSON for any module that answers
with one. Merging is issues/api/merges.py.

A pull request's mergeability is computed when one is read on its own (issues.pulls.refresh), as
GitHub computes it when asked; lists leave it out, as GitHub's lists do."""
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from ninja import Router, Schema

from accounts.api import UserOut, user_json
from forge.api import ApiError, Page, errors, invalid, web_url
from issues import api_services, permissions, pulls, services
from issues.api.issues import check_choice, edit_issue_fields
from issues.api.serializers import (
    MAX_NUMBER,
    Associations,
    LabelOut,
    invalid_input,
    label_json,
    optional_user,
    refused,
    repo_api,
)
from issues.models import Issue, PullRequest
from repos.api.common import (
    RepositoryOut,
    accessible,
    repository_json,
    repository_store,
)
from repos.api.serializers import CommitOut, FileOut, commits_json, files_json
from repos.fragments import cached
from repos.store import diff as diffs
from repos.store import history

router = Router(tags=["pulls"])

BRANCH = "refs/heads/"
MAX_COMMITS = 250            # GitHub lists at most 250 commits of a pull request
SORTS = {"created": "issue__created_at", "updated": "issue__updated_at", "popularity": "comment_count",
         "long-running": "issue__created_at"}
MERGEABLE_STATE = {PullRequest.CLEAN: "clean", PullRequest.CONFLICT: "dirty"}


# --- schemas -----------------------------------------------------------------------------------------------

class PullBranchOut(Schema):
    label: str
    ref: str
    sha: str
    user: UserOut
    repo: RepositoryOut | None


class PullSimpleOut(Schema):
    """A pull request as GitHub's lists give it."""
    id: int
    node_id: str
    url: str
    html_url: str
    diff_url: str
    patch_url: str
    issue_url: str
    commits_url: str
    review_comments_url: str
    review_comment_url: str
    comments_url: str
    statuses_url: str
    number: int
    state: str
    locked: bool
    title: str
    body: str | None
    user: UserOut | None
    labels: list[LabelOut]
    milestone: dict[str, Any] | None
    active_lock_reason: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_at: datetime | None
    merge_commit_sha: str | None
    assignee: UserOut | None
    assignees: list[UserOut]
    requested_reviewers: list[UserOut]
    requested_teams: list[dict[str, Any]]
    head: PullBranchOut
    base: PullBranchOut
    author_association: str
    auto_merge: dict[str, Any] | None
    draft: bool


class PullOut(PullSimpleOut):
    """One pull request, with what it takes to compute: mergeability and the size of its change."""
    merged: bool
    mergeable: bool | None
    rebaseable: bool | None
    mergeable_state: str
    merged_by: UserOut | None
    comments: int
    review_comments: int
    maintainer_can_modify: bool
    commits: int
    additions: int
    deletions: int
    changed_files: int


class PullIn(Schema):
    title: str | None = None
    head: str
    base: str
    body: str | None = None
    draft: bool | None = None
    maintainer_can_modify: bool | None = None
    issue: int | None = None


class PullEditIn(Schema):
    title: str | None = None
    body: str | None = None
    state: str | None = None
    base: str | None = None
    maintainer_can_modify: bool | None = None


# --- JSON ----------------------------------------------------------------------------------------------------

def _oid(text):
    return bytes.fromhex(text) if text else None


def pull_range(store, pull):
    """(start, head) of what the pull request brings (its merge base, else the base's tip, to its
    head), or None when its head commit is not in the repository."""
    head = _oid(pull.head_oid)
    if head is None or store.graph.node(head) is None:
        return None
    return _oid(pull.merge_base_oid) or _oid(pull.base_oid), head


def pull_diff(repo, store, pull):
    """The pull request's diff (merge base to head), cached under the key the pull pages use."""
    span = pull_range(store, pull)
    if span is None:
        return None
    start, head = span
    graph = store.graph
    old_tree = graph.node(start).tree if start and graph.node(start) else None
    return cached(("cmp", repo.store_id, start, head),
                  lambda: diffs.diff_trees(store, old_tree, graph.node(head).tree))


def _branch_json(request, repo, ref, sha, owner_json, repo_json):
    return {"label": f"{repo.owner.username}:{ref}", "ref": ref, "sha": sha, "user": owner_json, "repo": repo_json}


class PullContext:
    """What every pull request of one repository shares in a response (computed once)."""

    def __init__(self, request, actor, repo):
        self.repo = repo
        self.associations = Associations(repo)
        self.owner_json = user_json(request, repo.owner)
        self.repo_json = repository_json(request, actor, repo)


def pull_json(request, pull, *, actor=None, store=None, context: PullContext | None = None) -> dict:
    """A pull request as GitHub answers it: given `store` (the repository's, after
    issues.pulls.refresh), the full form with mergeability and the size of the change; without,
    the list form. `pull.issue` and `pull.issue.repository` must be loaded."""
    issue = pull.issue
    repo = issue.repository
    if context is None:
        from forge.api import api_actor
        context = PullContext(request, actor or api_actor(request), repo)
    base = f"/pulls/{issue.number}"
    page = web_url(request, f"/{repo.full_name}/pulls/{issue.number}")
    assignees = sorted(issue.assignees.all(), key=lambda user: user.username.lower())
    data = {
        "id": issue.pk,
        "node_id": f"PR_{issue.pk}",
        "url": repo_api(request, repo, base),
        "html_url": page,
        "diff_url": page + ".diff",
        "patch_url": page + ".patch",
        "issue_url": repo_api(request, repo, f"/issues/{issue.number}"),
        "commits_url": repo_api(request, repo, base + "/commits"),
        "review_comments_url": repo_api(request, repo, base + "/comments"),
        "review_comment_url": repo_api(request, repo, "/pulls/comments{/number}"),
        "comments_url": repo_api(request, repo, f"/issues/{issue.number}/comments"),
        "statuses_url": repo_api(request, repo, f"/statuses/{pull.head_oid}"),
        "number": issue.number,
        "state": issue.state,
        "locked": False,
        "title": issue.title,
        "body": issue.body or None,
        "user": optional_user(request, issue.author),
        "labels": [label_json(request, repo, label) for label in issue.labels.all()],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "merged_at": pull.merged_at,
        "merge_commit_sha": pull.merge_commit_oid or None,
        "assignee": user_json(request, assignees[0]) if assignees else None,
        "assignees": [user_json(request, user) for user in assignees],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch_json(request, repo, pull.head_ref, pull.head_oid, context.owner_json, context.repo_json),
        "base": _branch_json(request, repo, pull.base_ref, pull.base_oid, context.owner_json, context.repo_json),
        "author_association": context.associations.of(issue.author_id),
        "auto_merge": None,
        "draft": False,
    }
    if store is not None:
        data.update(_full_members(request, repo, store, pull))
    return data


def _full_members(request, repo, store, pull) -> dict:
    open_ = pull.issue.is_open and not pull.is_merged
    mergeable = {PullRequest.CLEAN: True, PullRequest.CONFLICT: False}.get(pull.merge_state) if open_ else None
    span = pull_range(store, pull)
    commits = history.ahead_behind(store, *span)[0] if span else 0
    diff = pull_diff(repo, store, pull)
    return {
        "merged": pull.is_merged,
        "mergeable": mergeable,
        "rebaseable": mergeable,
        "mergeable_state": MERGEABLE_STATE.get(pull.merge_state, "unknown") if open_ else "unknown",
        "merged_by": optional_user(request, pull.merged_by) if pull.merged_by_id else None,
        "comments": pull.issue.comments.count(),
        "review_comments": pull.review_comments.count(),
        "maintainer_can_modify": False,
        "commits": commits,
        "additions": diff.added if diff else 0,
        "deletions": diff.deleted if diff else 0,
        "changed_files": diff.changed_files if diff else 0,
    }


# --- finding pull requests -----------------------------------------------------------------------------------

def pull_rows(repo):
    return (PullRequest.objects.filter(issue__repository=repo)
            .select_related("issue", "issue__author", "issue__closed_by", "merged_by")
            .prefetch_related("issue__labels", "issue__assignees"))


def pull_or_404(repo, number: int) -> PullRequest:
    if number < 1 or number > MAX_NUMBER:
        raise ApiError(404, "Not Found")
    pull = pull_rows(repo).filter(issue__number=number).first()
    if pull is None:
        raise ApiError(404, "Not Found")
    pull.issue.repository = repo
    return pull


def full_pull_json(request, actor, repo, pull) -> dict:
    """The pull request brought up to date with its branches, in its full form."""
    with repository_store(repo) as store:
        pulls.refresh(pull, store)
        return pull_json(request, pull, actor=actor, store=store)


# --- routes --------------------------------------------------------------------------------------------------

@router.get("/repos/{owner}/{repo}/pulls", response={200: list[PullSimpleOut], **errors(404, 422)},
            summary="List pull requests")
def list_pull_requests(request, response: HttpResponse, owner: str, repo: str, state: str = "open", head: str = "",
                       base: str = "", sort: str = "created", direction: str = "desc", page: int = 1,
                       per_page: int = 30):
    actor, found = accessible(request, owner, repo)
    check_choice(state, ("open", "closed", "all"), "state", "PullRequest")
    check_choice(sort, tuple(SORTS), "sort", "PullRequest")
    check_choice(direction, ("asc", "desc"), "direction", "PullRequest")
    rows = pull_rows(found)
    if state != "all":
        rows = rows.filter(issue__state=state)
    if head:
        head_owner, _, branch = head.rpartition(":")
        if head_owner and head_owner.lower() != found.owner.username.lower():
            rows = rows.none()
        rows = rows.filter(head_ref=branch)
    if base:
        rows = rows.filter(base_ref=base)
    if sort == "popularity":
        rows = rows.annotate(comment_count=Count("issue__comments"))
    sign = "" if direction == "asc" else "-"
    rows = rows.order_by(f"{sign}{SORTS[sort]}", f"{sign}issue__number")
    context = PullContext(request, actor, found)
    chosen = Page(page, per_page).take(request, response, rows)
    for pull in chosen:
        pull.issue.repository = found
    return [pull_json(request, pull, context=context) for pull in chosen]


def _head_branch(repo, head: str) -> str:
    """`branch` or `owner:branch` (this repository's owner: Forge has no forks)."""
    head_owner, _, branch = head.rpartition(":")
    if head_owner and head_owner.lower() != repo.owner.username.lower():
        raise invalid("head is invalid", resource="PullRequest", field="head")
    return branch


@router.post("/repos/{owner}/{repo}/pulls", response={201: PullOut, **errors(401, 403, 404, 422)},
             summary="Create a pull request")
def create_pull_request(request, owner: str, repo: str, body: PullIn):
    actor, found = accessible(request, owner, repo)
    if not permissions.can_open(actor, found):
        raise refused(actor)
    if body.issue is not None:
        raise invalid("Turning an issue into a pull request is not supported", resource="PullRequest", field="issue")
    if not body.title:
        raise invalid("title is missing", resource="PullRequest", field="title", code="missing_field")
    branch = _head_branch(found, body.head)
    with repository_store(found) as store:
        base_tip, head_tip = store.ref(BRANCH + body.base), store.ref(BRANCH + branch) if branch else None
        if base_tip is None:
            raise invalid("base is invalid", resource="PullRequest", field="base")
        if head_tip is None:
            raise invalid("head is invalid", resource="PullRequest", field="head")
        if store.graph.is_ancestor(head_tip, base_tip):
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom",
                                                       "message": f"No commits between {body.base} and {body.head}"}])
    if PullRequest.objects.filter(issue__repository=found, issue__state=Issue.OPEN, base_ref=body.base,
                                  head_ref=branch).exists():
        raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "code": "custom", "message":
                                                   f"A pull request already exists for {found.owner.username}:{branch}."}])
    try:
        issue = pulls.open_pull_request(actor, found, body.base, branch, body.title, body.body or "")
    except services.NotAllowed:
        raise refused(actor) from None
    except services.InvalidInput as error:
        raise invalid_input(error, "PullRequest") from None
    return 201, full_pull_json(request, actor, found, pull_or_404(found, issue.number))


@router.get("/repos/{owner}/{repo}/pulls/{number}", response={200: PullOut, **errors(404, 422)},
            summary="Get a pull request")
def get_pull_request(request, owner: str, repo: str, number: int):
    actor, found = accessible(request, owner, repo)
    return full_pull_json(request, actor, found, pull_or_404(found, number))


@router.patch("/repos/{owner}/{repo}/pulls/{number}", response={200: PullOut, **errors(401, 403, 404, 422)},
              summary="Update a pull request")
def update_pull_request(request, owner: str, repo: str, number: int, body: PullEditIn):
    actor, found = accessible(request, owner, repo)
    pull = pull_or_404(found, number)
    fields = body.model_dump(exclude_unset=True)
    try:
        with transaction.atomic():
            if fields.get("base") is not None:
                api_services.change_base(actor, pull, fields["base"])
            edit_issue_fields(actor, pull.issue, {k: v for k, v in fields.items() if k in ("title", "body", "state")})
    except services.NotAllowed:
        raise refused(actor) from None
    except services.InvalidInput as error:
        raise invalid_input(error, "PullRequest") from None
    return full_pull_json(request, actor, found, pull_or_404(found, number))


@router.get("/repos/{owner}/{repo}/pulls/{number}/commits", response={200: list[CommitOut], **errors(404, 422)},
            summary="List commits on a pull request")
def list_pull_request_commits(request, response: HttpResponse, owner: str, repo: str, number: int, page: int = 1,
                              per_page: int = 30):
    _, found = accessible(request, owner, repo)
    pull = pull_or_404(found, number)
    with repository_store(found) as store:
        pulls.refresh(pull, store)
        span = pull_range(store, pull)
        infos = list(reversed(history.commits_between(store, *span, limit=MAX_COMMITS))) if span else []
    return commits_json(request, found, Page(page, per_page).take(request, response, infos))


@router.get("/repos/{owner}/{repo}/pulls/{number}/files", response={200: list[FileOut], **errors(404, 422)},
            summary="List pull request files")
def list_pull_request_files(request, response: HttpResponse, owner: str, repo: str, number: int, page: int = 1,
                            per_page: int = 30):
    _, found = accessible(request, owner, repo)
    pull = pull_or_404(found, number)
    with repository_store(found) as store:
        pulls.refresh(pull, store)
        span = pull_range(store, pull)
        if span is None:
            return Page(page, per_page).take(request, response, [])
        start, head = span
        graph = store.graph
        old_tree = graph.node(start).tree if start and graph.node(start) else None
        files, _ = files_json(request, found, store, old_tree, graph.node(head).tree, head.hex(), max_files=3000)
    return Page(page, per_page).take(request, response, files)
