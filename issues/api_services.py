"""Changes the REST API makes that issues.services and issues.pulls do not offer yet: editing an
issue's title and body, deleting a comment, creating the labels an issue is given by name (as
GitHub does for people with push access), changing a pull request's base branch.

Each checks issues.permissions first and raises the domain's NotAllowed / InvalidInput, as
issues.services does, so the web pages could use them as well."""
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.actor import Actor
from issues import permissions
from issues.models import Comment, Issue, Label, PullRequest
from issues.services import (
    InvalidInput,
    NotAllowed,
    _clean_body,
    _clean_title,
    create_label,
)
from repos.selectors import store_path
from repos.store import RepoStore
from repos.store.ancestry import merge_base

BRANCH = "refs/heads/"
NEW_LABEL_COLOR = "#ededed"


def can_edit_issue(actor: Actor, issue: Issue) -> bool:
    """Change the title, body or state: the author, or a triager (GitHub's rule for all three)."""
    return permissions.can_close(actor, issue)


def edit_issue(actor: Actor, issue: Issue, *, title: str | None = None, body: str | None = None) -> Issue:
    """Set the title and/or the body (None: leave as is)."""
    if not can_edit_issue(actor, issue):
        raise NotAllowed("you may not edit this issue")
    changed = []
    if title is not None:
        title = _clean_title(title)
        if title != issue.title:
            issue.title = title
            changed.append("title")
    if body is not None:
        body = _clean_body(body, required=False)
        if body != issue.body:
            issue.body = body
            changed.append("body")
    if changed:
        issue.save(update_fields=[*changed, "updated_at"])
    return issue


def delete_comment(actor: Actor, comment: Comment) -> None:
    """Whoever may edit a comment may delete it (its author, or the repository's admins)."""
    if not permissions.can_edit_comment(actor, comment):
        raise NotAllowed("you may not delete this comment")
    comment.delete()


def ensure_labels(actor: Actor, repo, names: list[str]) -> None:
    """Create the labels among `names` that the repository lacks (GitHub creates them when an issue
    is given them by someone with push access). Others get NotAllowed from create_label."""
    existing = set(Label.objects.filter(repository=repo).annotate(lower=Lower("name"))
                   .values_list("lower", flat=True))
    for name in dict.fromkeys(n.strip() for n in names if n and n.strip()):
        if name.lower() not in existing:
            create_label(actor, repo, name, NEW_LABEL_COLOR)
            existing.add(name.lower())


def change_base(actor: Actor, pull: PullRequest, base: str) -> PullRequest:
    """Point an open pull request at another branch of its repository; its mergeability is then
    computed again (issues.pulls.refresh)."""
    issue = pull.issue
    if not can_edit_issue(actor, issue):
        raise NotAllowed("you may not edit this pull request")
    if base == pull.base_ref:
        return pull
    if pull.is_merged or not issue.is_open:
        raise InvalidInput("base", "Cannot change the base branch of a closed pull request.")
    if base == pull.head_ref:
        raise InvalidInput("base", "The base branch must differ from the head branch.")
    with RepoStore.open(store_path(issue.repository)) as store:
        base_tip, head_tip = store.ref(BRANCH + base), store.ref(BRANCH + pull.head_ref)
        if base_tip is None:
            raise InvalidInput("base", f"Proposed base branch '{base}' was not found")
        if head_tip is None:
            raise InvalidInput("head", "The head branch of this pull request is gone.")
        if store.graph.is_ancestor(head_tip, base_tip):
            raise InvalidInput("base", f"There are no new commits between base branch '{base}' and head branch "
                                       f"'{pull.head_ref}'")
        found = merge_base(store, base_tip, head_tip)
    with transaction.atomic():
        pull.base_ref, pull.base_oid, pull.head_oid = base, base_tip.hex(), head_tip.hex()
        pull.merge_base_oid = found.hex() if found else ""
        pull.merge_state, pull.conflicts = PullRequest.UNKNOWN, []
        pull.save(update_fields=["base_ref", "base_oid", "head_oid", "merge_base_oid", "merge_state", "conflicts"])
        Issue.objects.filter(pk=issue.pk).update(updated_at=timezone.now())
    return pull
