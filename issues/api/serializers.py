"""JSON for issues, their comments and labels as GitHub's REST API gives them, and what the issue
and pull request routes share: finding an issue by number, and turning the domain's refusals
(NotAllowed, InvalidInput) into GitHub's answers."""
from datetime import datetime
from urllib.parse import quote

from ninja import Schema

from accounts.api import UserOut, user_json
from accounts.scopes import ISSUES_WRITE
from forge.api import ApiError, api_url, invalid, web_url
from issues.models import Issue
from repos.models import Collaborator

MAX_NUMBER = 2**31 - 1   # larger numbers cannot name an issue (and would overflow SQLite's integers)


# --- schemas ---------------------------------------------------------------------------------------------

class LabelOut(Schema):
    id: int
    node_id: str
    url: str
    name: str
    color: str
    description: str | None
    default: bool


class IssuePullLinksOut(Schema):
    url: str
    html_url: str
    diff_url: str
    patch_url: str
    merged_at: datetime | None


class IssueOut(Schema):
    id: int
    node_id: str
    url: str
    repository_url: str
    labels_url: str
    comments_url: str
    events_url: str
    html_url: str
    number: int
    state: str
    state_reason: str | None
    title: str
    body: str | None
    user: UserOut | None
    labels: list[LabelOut]
    assignee: UserOut | None
    assignees: list[UserOut]
    locked: bool
    comments: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    closed_by: UserOut | None
    author_association: str
    # Only for pull requests (GitHub leaves the member out for an issue): routes answering issues
    # are declared with exclude_unset so that an unset member is not sent as null.
    pull_request: IssuePullLinksOut | None = None


class CommentOut(Schema):
    id: int
    node_id: str
    url: str
    html_url: str
    issue_url: str
    body: str
    user: UserOut | None
    created_at: datetime
    updated_at: datetime
    author_association: str


# --- helpers ---------------------------------------------------------------------------------------------

class Associations:
    """GitHub's author_association of users to one repository (OWNER, COLLABORATOR, NONE), the
    collaborators read once per request."""

    def __init__(self, repo):
        self.repo = repo
        self._collaborators = None

    def of(self, user_id) -> str:
        if user_id is None:
            return "NONE"
        if user_id == self.repo.owner_id:
            return "OWNER"
        if self._collaborators is None:
            self._collaborators = set(Collaborator.objects.filter(repository=self.repo)
                                      .values_list("user_id", flat=True))
        return "COLLABORATOR" if user_id in self._collaborators else "NONE"


def repo_api(request, repo, path: str = "") -> str:
    return api_url(request, f"/repos/{repo.full_name}{path}")


def optional_user(request, user):
    return user_json(request, user) if user is not None else None


def label_json(request, repo, label) -> dict:
    return {
        "id": label.pk,
        "node_id": f"LA_{label.pk}",
        "url": repo_api(request, repo, f"/labels/{quote(label.name, safe='')}"),
        "name": label.name,
        "color": label.color.lstrip("#"),
        "description": label.description or None,
        "default": False,
    }


def state_reason(issue) -> str | None:
    """Forge keeps no reason: a closed issue was completed (or merged), an open one has none."""
    return "completed" if issue.state == Issue.CLOSED else None


def issue_json(request, issue, *, associations: Associations | None = None, comment_count: int | None = None,
               merged_at=None) -> dict:
    """An issue (or the issue side of a pull request, with its `pull_request` links) as
    /repos/{o}/{r}/issues/{n} answers it. Uses prefetched labels and assignees where there are."""
    repo = issue.repository
    associations = associations or Associations(repo)
    base = f"/issues/{issue.number}"
    assignees = sorted(issue.assignees.all(), key=lambda user: user.username.lower())
    if comment_count is None:
        comment_count = getattr(issue, "comment_count", None)
        if comment_count is None:
            comment_count = issue.comments.count()
    data = {
        "id": issue.pk,
        "node_id": f"I_{issue.pk}",
        "url": repo_api(request, repo, base),
        "repository_url": repo_api(request, repo),
        "labels_url": repo_api(request, repo, base + "/labels{/name}"),
        "comments_url": repo_api(request, repo, base + "/comments"),
        "events_url": repo_api(request, repo, base + "/events"),
        "html_url": web_url(request, issue.get_absolute_url()),
        "number": issue.number,
        "state": issue.state,
        "state_reason": state_reason(issue),
        "title": issue.title,
        "body": issue.body or None,
        "user": optional_user(request, issue.author),
        "labels": [label_json(request, repo, label) for label in issue.labels.all()],
        "assignee": user_json(request, assignees[0]) if assignees else None,
        "assignees": [user_json(request, user) for user in assignees],
        "locked": False,
        "comments": comment_count,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "closed_by": optional_user(request, issue.closed_by) if issue.closed_by_id else None,
        "author_association": associations.of(issue.author_id),
    }
    if issue.is_pull:
        pulls = f"/pulls/{issue.number}"
        page = web_url(request, f"/{repo.full_name}/pulls/{issue.number}")
        data["pull_request"] = {"url": repo_api(request, repo, pulls), "html_url": page,
                                "diff_url": page + ".diff", "patch_url": page + ".patch",
                                "merged_at": merged_at}
    return data


def comment_json(request, comment, issue, associations: Associations | None = None) -> dict:
    repo = issue.repository
    associations = associations or Associations(repo)
    return {
        "id": comment.pk,
        "node_id": f"IC_{comment.pk}",
        "url": repo_api(request, repo, f"/issues/comments/{comment.pk}"),
        "html_url": web_url(request, f"{issue.get_absolute_url()}#comment-{comment.pk}"),
        "issue_url": repo_api(request, repo, f"/issues/{issue.number}"),
        "body": comment.body,
        "user": optional_user(request, comment.author),
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
        "author_association": associations.of(comment.author_id),
    }


def issue_or_404(repo, number: int, queryset=None) -> Issue:
    """Issue or pull request `number` of `repo` (404 if there is none)."""
    if number < 1 or number > MAX_NUMBER:
        raise ApiError(404, "Not Found")
    queryset = queryset if queryset is not None else Issue.objects
    issue = (queryset.filter(repository=repo, number=number)
             .select_related("author", "closed_by", "repository__owner").first())
    if issue is None:
        raise ApiError(404, "Not Found")
    issue.repository = repo
    return issue


def refused(actor, error=None) -> ApiError:
    """GitHub's answer to a change the actor may not make: 401 anonymous, 403 otherwise (naming the
    scope an agent's token lacks)."""
    if actor.is_anonymous:
        return ApiError(401, "Requires authentication")
    if not actor.has_scope(ISSUES_WRITE):
        return ApiError(403, "Resource not accessible by personal access token")
    return ApiError(403, "Must have push access to this repository.")


def invalid_input(error, resource: str = "Issue") -> ApiError:
    """An issues.services.InvalidInput as GitHub's 422."""
    return invalid(str(error), resource=resource, field=error.field)
