"""Reviews of pull requests and comments on lines of their diffs.

The rules (GitHub's): whoever may comment on the pull request (issues.permissions.can_comment:
signed in, able to read, an agent holding issues:write) may leave a review comment or comment on
a line; approving or requesting changes is for anyone else than the pull request's author. Each
function raises NotAllowed or InvalidInput, as issues.services does."""
from django.db import transaction
from django.utils import timezone

from accounts.actor import Actor
from issues import permissions
from issues.models import Issue, PullRequest, Review, ReviewComment
from issues.services import InvalidInput, NotAllowed, _clean_body

VERDICTS = (Review.APPROVED, Review.CHANGES_REQUESTED)
SIDES = (ReviewComment.LEFT, ReviewComment.RIGHT)


def can_review(actor: Actor, pull: PullRequest, state: str = Review.COMMENTED) -> bool:
    """Whether `actor` may submit a review of `state` on `pull`."""
    issue = pull.issue
    if not permissions.can_comment(actor, issue):
        return False
    if state in VERDICTS:
        return issue.author_id is None or issue.author_id != actor.user_id
    return True


def submit_review(actor: Actor, pull: PullRequest, state: str, body: str = "") -> Review:
    """A review of the head as it is now: approve, request changes (both need someone else than the
    author) or comment (which needs a body)."""
    if state not in (Review.APPROVED, Review.CHANGES_REQUESTED, Review.COMMENTED):
        raise InvalidInput("state", "Choose approve, request changes or comment.")
    if not can_review(actor, pull, state):
        if state in VERDICTS and permissions.can_comment(actor, pull.issue):
            raise NotAllowed("you may not approve or request changes on your own pull request")
        raise NotAllowed("you may not review this pull request")
    body = _clean_body(body, required=state != Review.APPROVED)
    with transaction.atomic():
        review = Review.objects.create(pull=pull, author_id=actor.user_id, state=state, body=body,
                                       commit_oid=pull.head_oid)
        Issue.objects.filter(pk=pull.issue_id).update(updated_at=timezone.now())
    return review


def diff_lines(diff) -> set[tuple[str, str, int]]:
    """(path, side, line) of every line a comment may be attached to in a repos.store.diff.Diff:
    LEFT the old side's numbers (deleted and context lines), RIGHT the new side's (added and context)."""
    found = set()
    for patch in diff.files:
        path = patch.change.path
        for hunk in patch.hunks:
            for line in hunk.lines:
                if line.old_no is not None and line.kind in (" ", "-"):
                    found.add((path, ReviewComment.LEFT, line.old_no))
                if line.new_no is not None and line.kind in (" ", "+"):
                    found.add((path, ReviewComment.RIGHT, line.new_no))
    return found


def add_line_comment(actor: Actor, pull: PullRequest, *, path: str, line, side: str, body: str,
                     lines_in_diff: set | None = None) -> ReviewComment:
    """A comment on line `line` of `path` (side LEFT: the merge base's numbering, RIGHT: the head's),
    against the head commit as it is now. `lines_in_diff` (from diff_lines) refuses lines that are not
    in the diff shown."""
    if not permissions.can_comment(actor, pull.issue):
        raise NotAllowed("you may not comment on this pull request")
    if side not in SIDES:
        raise InvalidInput("side", "side must be LEFT or RIGHT.")
    try:
        line = int(line)
    except (TypeError, ValueError):
        raise InvalidInput("line", "line must be a number.") from None
    if line < 1 or not path:
        raise InvalidInput("line", "Choose a line of a file.")
    if lines_in_diff is not None and (path, side, line) not in lines_in_diff:
        raise InvalidInput("line", f"Line {line} of {path} is not in this pull request's diff.")
    body = _clean_body(body, required=True)
    with transaction.atomic():
        comment = ReviewComment.objects.create(pull=pull, author_id=actor.user_id, path=path, line=line, side=side,
                                               body=body, commit_oid=pull.head_oid)
        Issue.objects.filter(pk=pull.issue_id).update(updated_at=timezone.now())
    return comment


def place_line_comments(diff, comments) -> tuple[dict, dict, list]:
    """Where each line comment goes on the files page: ({(path, side, line): [comment]} under lines of
    the diff, {path: [comment]} outdated ones of files still in the diff (shown at the file's end),
    [comment] of files no longer in it)."""
    present = diff_lines(diff)
    paths = {patch.change.path for patch in diff.files}
    under, outdated, gone = {}, {}, []
    for comment in comments:
        key = (comment.path, comment.side, comment.line)
        if key in present:
            under.setdefault(key, []).append(comment)
        elif comment.path in paths:
            outdated.setdefault(comment.path, []).append(comment)
        else:
            gone.append(comment)
    return under, outdated, gone
