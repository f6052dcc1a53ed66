"""/repos/{owner}/{repo}/issues and /issues/{number}: listing (pull requests included, marked with
`pull_request`, as GitHub lists them), opening, reading and editing issues. A pull request's number
works here too and edits its issue side (title, body, state, labels, assignees).

Labels and assignees given by someone without push access are dropped silently, as GitHub drops
them; everything else they may not change answers 403."""
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Lower
from django.http import HttpResponse
from ninja import Router, Schema

from forge.api import Page, as_utc, errors, invalid
from issues import api_services, permissions, services
from issues.api.serializers import (
    Associations,
    IssueOut,
    invalid_input,
    issue_json,
    issue_or_404,
    refused,
)
from issues.models import Issue, Label
from repos.api.common import accessible

router = Router(tags=["issues"])

STATES = ("open", "closed", "all")
SORTS = {"created": "created_at", "updated": "updated_at", "comments": "comment_count"}
STATE_REASONS = ("completed", "not_planned", "reopened")


class IssueIn(Schema):
    title: str
    body: str | None = None
    labels: list[str] | None = None
    assignees: list[str] | None = None
    assignee: str | None = None
    milestone: int | str | None = None


class IssueEditIn(Schema):
    title: str | None = None
    body: str | None = None
    state: str | None = None
    state_reason: str | None = None
    labels: list[str] | None = None
    assignees: list[str] | None = None
    assignee: str | None = None
    milestone: int | str | None = None


def parse_since(since: str):
    """GitHub's `since` (ISO 8601), or 422."""
    if not since:
        return None
    try:
        moment = datetime.fromisoformat(since.strip())
    except ValueError:
        raise invalid("since must be an ISO 8601 timestamp", resource="Issue", field="since") from None
    return as_utc(moment)


def check_choice(value: str, choices, field: str, resource: str = "Issue") -> str:
    if value not in choices:
        raise invalid(f"{field} must be one of {', '.join(choices)}", resource=resource, field=field)
    return value


def _users_named(name: str):
    return get_user_model().objects.alias(lower=Lower("username")).filter(lower=name.lower())


def issue_rows(repo):
    """The issues and pull requests of `repo` with what their JSON shows fetched in bulk."""
    return (Issue.objects.filter(repository=repo)
            .select_related("author", "closed_by", "pull")
            .prefetch_related("labels", "assignees")
            .annotate(comment_count=Count("comments", distinct=True)))


def filtered_issues(repo, *, state, labels, assignee, creator, since, sort, direction):
    """GitHub's filters of /issues: every label given must be on the issue; assignee "none" or "*"."""
    issues = issue_rows(repo)
    if state != "all":
        issues = issues.filter(state=state)
    for name in [n.strip() for n in labels.split(",") if n.strip()][:20]:
        labelled = Label.objects.filter(repository=repo).alias(lower=Lower("name")).filter(lower=name.lower())
        issues = issues.filter(labels__in=labelled)
    if assignee == "none":
        issues = issues.filter(assignees__isnull=True)
    elif assignee == "*":
        issues = issues.filter(assignees__isnull=False)
    elif assignee:
        issues = issues.filter(assignees__in=_users_named(assignee))
    if creator:
        issues = issues.filter(author__in=_users_named(creator))
    if since is not None:
        issues = issues.filter(updated_at__gte=since)
    sign = "" if direction == "asc" else "-"
    return issues.distinct().order_by(f"{sign}{SORTS[sort]}", f"{sign}number")


def merged_at_of(issue):
    pull = getattr(issue, "pull", None) if issue.is_pull else None
    return pull.merged_at if pull is not None else None


def issues_json(request, repo, issues) -> list[dict]:
    associations = Associations(repo)
    for issue in issues:
        issue.repository = repo     # the one already loaded, not a query per issue
    return [issue_json(request, issue, associations=associations, merged_at=merged_at_of(issue)) for issue in issues]


@router.get("/repos/{owner}/{repo}/issues", response={200: list[IssueOut], **errors(404, 422)},
            exclude_unset=True, summary="List repository issues")
def list_repository_issues(request, response: HttpResponse, owner: str, repo: str, state: str = "open",
                           labels: str = "", assignee: str = "", creator: str = "", mentioned: str = "",
                           milestone: str = "", sort: str = "created", direction: str = "desc", since: str = "",
                           page: int = 1, per_page: int = 30):
    _, found = accessible(request, owner, repo)
    issues = filtered_issues(found, state=check_choice(state, STATES, "state"), labels=labels, assignee=assignee,
                             creator=creator, since=parse_since(since), sort=check_choice(sort, tuple(SORTS), "sort"),
                             direction=check_choice(direction, ("asc", "desc"), "direction"))
    if milestone not in ("", "none"):
        issues = issues.none()   # Forge has no milestones: no issue is in one
    return issues_json(request, found, Page(page, per_page).take(request, response, issues))


def _apply_labels_and_assignees(actor, issue, labels, assignees):
    """Labels and assignees from someone with push access; others' are dropped, as on GitHub."""
    if not permissions.is_triager(actor, issue.repository):
        return
    if labels is not None:
        api_services.ensure_labels(actor, issue.repository, labels)
        services.set_labels(actor, issue, labels)
    if assignees is not None:
        services.set_assignees(actor, issue, assignees)


def _assignee_list(assignees, assignee):
    if assignees is not None:
        return assignees
    if assignee is not None:
        return [assignee] if assignee else []
    return None


@router.post("/repos/{owner}/{repo}/issues", response={201: IssueOut, **errors(401, 403, 404, 410, 422)},
             exclude_unset=True, summary="Create an issue")
def create_repository_issue(request, owner: str, repo: str, body: IssueIn):
    actor, found = accessible(request, owner, repo)
    try:
        with transaction.atomic():
            issue = services.create_issue(actor, found, body.title, body.body or "")
            _apply_labels_and_assignees(actor, issue, body.labels, _assignee_list(body.assignees, body.assignee))
    except services.NotAllowed:
        raise refused(actor) from None
    except services.InvalidInput as error:
        raise invalid_input(error) from None
    issue = issue_or_404(found, issue.number, issue_rows(found))
    return 201, issue_json(request, issue)


@router.get("/repos/{owner}/{repo}/issues/{number}", response={200: IssueOut, **errors(404, 422)},
            exclude_unset=True, summary="Get an issue")
def get_repository_issue(request, owner: str, repo: str, number: int):
    _, found = accessible(request, owner, repo)
    issue = issue_or_404(found, number, issue_rows(found))
    return issue_json(request, issue, merged_at=merged_at_of(issue))


def edit_issue_fields(actor, issue, fields: dict) -> None:
    """Apply a PATCH of an issue (or a pull request's issue side): `fields` holds only the members
    the request sent. All or nothing: a refusal or bad input leaves the issue as it was."""
    if "state" in fields and fields["state"] is not None:
        check_choice(fields["state"], ("open", "closed"), "state")
    if fields.get("state_reason") is not None:
        check_choice(fields["state_reason"], STATE_REASONS, "state_reason")
    if issue.is_pull and fields.get("state") == "open" and issue.pull.is_merged:
        raise invalid("A merged pull request cannot be reopened", resource="PullRequest", field="state")
    with transaction.atomic():
        if "title" in fields or "body" in fields:
            if "title" in fields and fields["title"] is None:
                raise invalid("title cannot be null", resource="Issue", field="title")
            api_services.edit_issue(actor, issue, title=fields.get("title"),
                                    body=(fields["body"] or "") if "body" in fields else None)
        state = fields.get("state")
        if state is None and fields.get("state_reason") in ("completed", "not_planned"):
            state = "closed"
        if state == "closed":
            services.close_issue(actor, issue)
        elif state == "open" or fields.get("state_reason") == "reopened":
            services.reopen_issue(actor, issue)
        labels = fields.get("labels")
        assignees = _assignee_list(fields.get("assignees"), fields.get("assignee"))
        if "assignee" in fields and fields["assignee"] is None and "assignees" not in fields:
            assignees = []
        if "labels" in fields and labels is None:
            labels = []
        _apply_labels_and_assignees(actor, issue, labels, assignees)


@router.patch("/repos/{owner}/{repo}/issues/{number}", response={200: IssueOut, **errors(401, 403, 404, 410, 422)},
              exclude_unset=True, summary="Update an issue")
def update_repository_issue(request, owner: str, repo: str, number: int, body: IssueEditIn):
    actor, found = accessible(request, owner, repo)
    issue = issue_or_404(found, number)
    try:
        edit_issue_fields(actor, issue, body.model_dump(exclude_unset=True))
    except services.NotAllowed:
        raise refused(actor) from None
    except services.InvalidInput as error:
        raise invalid_input(error) from None
    issue = issue_or_404(found, number, issue_rows(found))
    return issue_json(request, issue, merged_at=merged_at_of(issue))
