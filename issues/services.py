"""Changing issues: every function checks issues.permissions first and raises NotAllowed when the
actor may not, and InvalidInput (a ValueError naming the field) for input it cannot accept.
Pull requests will be created with allocate_number() too, so both share one sequence."""
import re

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.actor import Actor
from issues import permissions
from issues.models import Comment, Event, Issue, IssueCounter, Label

MAX_TITLE = Issue._meta.get_field("title").max_length
MAX_BODY = 65536  # GitHub's limit for a body or comment
MAX_LABEL_NAME = Label._meta.get_field("name").max_length
MAX_LABEL_DESCRIPTION = Label._meta.get_field("description").max_length
COLOR = re.compile(r"#?([0-9a-fA-F]{6})")


class NotAllowed(PermissionError):
    """The actor may not do this (the repository itself is readable, or they would not be here)."""


class InvalidInput(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def allocate_number(repo) -> int:
    """The next number of OWNER/NAME's shared issue/pull sequence. Call inside transaction.atomic()
    together with the insert (see IssueCounter for why a counter row). The UPDATE comes first so
    the transaction takes its write lock at once rather than upgrading a read lock later."""
    if IssueCounter.objects.filter(repository=repo).update(last_number=F("last_number") + 1):
        return IssueCounter.objects.filter(repository=repo).values_list("last_number", flat=True).get()
    try:
        with transaction.atomic():
            IssueCounter.objects.create(repository=repo, last_number=1)
        return 1
    except IntegrityError:  # another transaction made the row first
        return allocate_number(repo)


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise InvalidInput("title", "A title is required.")
    if len(title) > MAX_TITLE:
        raise InvalidInput("title", f"A title is at most {MAX_TITLE} characters.")
    return title


def _clean_body(body: str, *, required: bool, field: str = "body") -> str:
    body = (body or "").replace("\r\n", "\n")
    if required and not body.strip():
        raise InvalidInput(field, "Write something first.")
    if len(body) > MAX_BODY:
        raise InvalidInput(field, f"At most {MAX_BODY} characters.")
    return body


def create_issue(actor: Actor, repo, title: str, body: str = "", *, kind: str = Issue.ISSUE) -> Issue:
    if not permissions.can_open(actor, repo):
        raise NotAllowed("you may not open issues here")
    title, body = _clean_title(title), _clean_body(body, required=False)
    with transaction.atomic():
        number = allocate_number(repo)
        return Issue.objects.create(repository=repo, number=number, kind=kind, title=title, body=body,
                                    author_id=actor.user_id)


def add_comment(actor: Actor, issue: Issue, body: str) -> Comment:
    if not permissions.can_comment(actor, issue):
        raise NotAllowed("you may not comment here")
    body = _clean_body(body, required=True)
    with transaction.atomic():
        comment = Comment.objects.create(issue=issue, author_id=actor.user_id, body=body)
        Issue.objects.filter(pk=issue.pk).update(updated_at=timezone.now())
    return comment


def edit_comment(actor: Actor, comment: Comment, body: str) -> Comment:
    """Its author may; so may the repository's admins (owner, site admins), to moderate."""
    if not permissions.can_edit_comment(actor, comment):
        raise NotAllowed("you may not edit this comment")
    body = _clean_body(body, required=True)
    if body != comment.body:
        comment.body, comment.edited = body, True
        comment.save(update_fields=["body", "edited", "updated_at"])
    return comment


def _set_state(actor: Actor, issue: Issue, state: str) -> Issue:
    if not permissions.can_close(actor, issue):
        raise NotAllowed("you may not close or reopen this issue")
    if issue.state == state:
        return issue
    closing = state == Issue.CLOSED
    with transaction.atomic():
        issue.state = state
        issue.closed_at = timezone.now() if closing else None
        issue.closed_by_id = actor.user_id if closing else None
        issue.save(update_fields=["state", "closed_at", "closed_by", "updated_at"])
        Event.objects.create(issue=issue, actor_id=actor.user_id, kind=Event.CLOSED if closing else Event.REOPENED)
    return issue


def close_issue(actor: Actor, issue: Issue) -> Issue:
    return _set_state(actor, issue, Issue.CLOSED)


def reopen_issue(actor: Actor, issue: Issue) -> Issue:
    return _set_state(actor, issue, Issue.OPEN)


def create_label(actor: Actor, repo, name: str, color: str = "#ededed", description: str = "") -> Label:
    if not permissions.can_manage_labels(actor, repo):
        raise NotAllowed("you may not manage labels here")
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("name", "A label needs a name.")
    if len(name) > MAX_LABEL_NAME:
        raise InvalidInput("name", f"A label name is at most {MAX_LABEL_NAME} characters.")
    if "," in name:
        raise InvalidInput("name", "A label name cannot contain a comma.")
    match = COLOR.fullmatch((color or "").strip())
    if not match:
        raise InvalidInput("color", "A colour is six hex digits, like #d73a4a.")
    description = (description or "").strip()
    if len(description) > MAX_LABEL_DESCRIPTION:
        raise InvalidInput("description", f"At most {MAX_LABEL_DESCRIPTION} characters.")
    with transaction.atomic():
        if repo.labels.annotate(lower=Lower("name")).filter(lower=name.lower()).exists():
            raise InvalidInput("name", f"A label named {name} already exists.")
        return Label.objects.create(repository=repo, name=name, color="#" + match.group(1).lower(),
                                    description=description)


def set_labels(actor: Actor, issue: Issue, names: list[str]) -> list[Label]:
    """Make the issue's labels exactly `names` (labels of its repository, any letter case)."""
    if not permissions.can_set_labels(actor, issue):
        raise NotAllowed("you may not label this issue")
    wanted = {name.lower() for name in names if name.strip()}
    labels = [label for label in issue.repository.labels.all() if label.name.lower() in wanted]
    unknown = wanted - {label.name.lower() for label in labels}
    if unknown:
        raise InvalidInput("labels", f"No such label: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        current = set(issue.labels.all())
        added, removed = set(labels) - current, current - set(labels)
        issue.labels.add(*added)
        issue.labels.remove(*removed)
        for label, kind in [(lb, Event.LABELED) for lb in added] + [(lb, Event.UNLABELED) for lb in removed]:
            Event.objects.create(issue=issue, actor_id=actor.user_id, kind=kind, label_name=label.name,
                                 label_color=label.color)
    return sorted(labels, key=lambda label: label.name.lower())


def set_assignees(actor: Actor, issue: Issue, usernames: list[str]) -> list:
    """Make the issue's assignees exactly `usernames`; each must be able to read the repository."""
    if not permissions.can_set_assignees(actor, issue):
        raise NotAllowed("you may not assign this issue")
    wanted = {name.strip().lower() for name in usernames if name.strip()}
    if len(wanted) > 10:
        raise InvalidInput("assignees", "At most 10 assignees.")
    users = list(get_user_model().objects.annotate(lower=Lower("username")).filter(lower__in=wanted, is_active=True))
    unknown = wanted - {user.username.lower() for user in users}
    if unknown:
        raise InvalidInput("assignees", f"No such user: {', '.join(sorted(unknown))}.")
    from accounts.actor import user_actor
    blind = [user.username for user in users if not permissions.can_read(user_actor(user), issue.repository)]
    if blind:
        raise InvalidInput("assignees", f"Cannot see this repository: {', '.join(sorted(blind))}.")
    with transaction.atomic():
        current = set(issue.assignees.all())
        added, removed = set(users) - current, current - set(users)
        issue.assignees.add(*added)
        issue.assignees.remove(*removed)
        for user, kind in [(u, Event.ASSIGNED) for u in added] + [(u, Event.UNASSIGNED) for u in removed]:
            Event.objects.create(issue=issue, actor_id=actor.user_id, kind=kind, subject_name=user.username)
    return sorted(users, key=lambda user: user.username.lower())
