"""Reading issues: lists with GitHub's filters, counts per state, one issue, its timeline."""
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.db.models.functions import Lower

from issues.models import Comment, Event, Issue, Label


@dataclass(frozen=True)
class IssueFilters:
    state: str = Issue.OPEN          # "open" | "closed"
    author: str = ""                 # user name, any case
    label: str = ""                  # label name, any case
    assignee: str = ""               # user name, any case
    q: str = ""                      # words that must all appear in the title

    @classmethod
    def from_query(cls, params) -> "IssueFilters":
        state = params.get("state", Issue.OPEN)
        return cls(state=state if state in (Issue.OPEN, Issue.CLOSED) else Issue.OPEN,
                   author=params.get("author", "").strip(), label=params.get("label", "").strip(),
                   assignee=params.get("assignee", "").strip(), q=params.get("q", "").strip()[:200])


def _filtered(repo, filters: IssueFilters, kind: str):
    issues = Issue.objects.filter(repository=repo, kind=kind)
    if filters.author:
        issues = issues.alias(author_lower=Lower("author__username")).filter(author_lower=filters.author.lower())
    if filters.label:
        labelled = Label.objects.filter(repository=repo).alias(lower=Lower("name")).filter(lower=filters.label.lower())
        issues = issues.filter(labels__in=labelled)
    if filters.assignee:
        assigned = get_user_model().objects.alias(lower=Lower("username")).filter(lower=filters.assignee.lower())
        issues = issues.filter(assignees__in=assigned)
    for word in filters.q.split()[:10]:
        issues = issues.filter(title__icontains=word)
    return issues


def list_issues(repo, filters: IssueFilters = IssueFilters(), *, kind: str = Issue.ISSUE):
    """Newest first, with what a list row shows fetched in bulk."""
    return (_filtered(repo, filters, kind).filter(state=filters.state).order_by("-number")
            .select_related("author").prefetch_related("labels", "assignees")
            .annotate(comment_count=Count("comments", distinct=True)))


def state_counts(repo, filters: IssueFilters = IssueFilters(), *, kind: str = Issue.ISSUE) -> dict[str, int]:
    """{"open": n, "closed": m} for the same filters (the tabs of the list)."""
    counts = _filtered(repo, filters, kind).aggregate(open=Count("pk", filter=Q(state=Issue.OPEN)),
                                                      closed=Count("pk", filter=Q(state=Issue.CLOSED)))
    return {Issue.OPEN: counts["open"] or 0, Issue.CLOSED: counts["closed"] or 0}


def get_issue(repo, number: int) -> Issue | None:
    """Issue or pull request NUMBER of the repository."""
    return (Issue.objects.filter(repository=repo, number=number)
            .select_related("author", "closed_by", "repository__owner").first())


def timeline(issue: Issue) -> list:
    """Comments and events, oldest first; each item has `.is_comment`."""
    comments = list(Comment.objects.filter(issue=issue).select_related("author"))
    events = list(Event.objects.filter(issue=issue).select_related("actor"))
    for comment in comments:
        comment.is_comment = True
    for event in events:
        event.is_comment = False
    return sorted(comments + events, key=lambda item: (item.created_at, 0 if item.is_comment else 1, item.pk))


def participants(issue: Issue) -> list:
    """The author and every commenter (for the side panel and suggesting assignees)."""
    ids = set(Comment.objects.filter(issue=issue).values_list("author_id", flat=True)) | {issue.author_id}
    return list(get_user_model().objects.filter(pk__in=[i for i in ids if i]).order_by(Lower("username")))


def repo_labels(repo) -> list[Label]:
    return list(Label.objects.filter(repository=repo).annotate(open_count=Count(
        "issues", filter=Q(issues__state=Issue.OPEN, issues__kind=Issue.ISSUE))))
