"""Issues, pull requests, their comments, labels and timeline events.

An issue and a pull request are one model (`Issue`, told apart by `kind`), because GitHub gives
them one number sequence per repository, one comment thread and one set of labels and assignees;
the pull request's own data (branches, merge state) will live in a row of its own that points here.
"""
from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from repos.models import Repository


class IssueCounter(models.Model):
    """The last number given to an issue or pull request in a repository.

    Why a counter row rather than MAX(number)+1: the UPDATE ... SET last_number = last_number + 1
    that allocates a number takes the row's write lock (SQLite: the database's) inside the
    transaction that also inserts the issue, so two concurrent creators are serialised and can never
    read the same value; MAX+1 would need a retry loop on the unique constraint. And a number once
    given is never reused, even if its issue is deleted (as on GitHub)."""

    repository = models.OneToOneField(Repository, on_delete=models.CASCADE, primary_key=True,
                                      related_name="issue_counter")
    last_number = models.PositiveIntegerField(default=0)


class Label(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=50)
    color = models.CharField(max_length=7, default="#ededed")  # "#rrggbb"
    description = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            models.UniqueConstraint("repository", Lower("name"), name="issues_label_unique_name_per_repo"),
        ]

    def __str__(self):
        return self.name

    @property
    def text_color(self) -> str:
        """Black or white, whichever reads better on the label's colour."""
        try:
            r, g, b = (int(self.color[i:i + 2], 16) for i in (1, 3, 5))
        except ValueError:
            return "#000000"
        return "#000000" if (r * 299 + g * 587 + b * 114) / 1000 > 140 else "#ffffff"


class Issue(models.Model):
    ISSUE, PULL = "issue", "pull"
    KINDS = [(ISSUE, "Issue"), (PULL, "Pull request")]
    OPEN, CLOSED = "open", "closed"
    STATES = [(OPEN, "Open"), (CLOSED, "Closed")]

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="issues")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=5, choices=KINDS, default=ISSUE)
    title = models.CharField(max_length=256)
    body = models.TextField(blank=True, default="")
    # A deleted account leaves its issues behind, shown as by a ghost (as on GitHub).
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               related_name="issues_opened")
    state = models.CharField(max_length=6, choices=STATES, default=OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    labels = models.ManyToManyField(Label, blank=True, related_name="issues")
    assignees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="issues_assigned")

    class Meta:
        constraints = [
            models.UniqueConstraint("repository", "number", name="issues_issue_unique_number"),
        ]
        indexes = [models.Index(fields=["repository", "kind", "state", "-number"])]

    def __str__(self):
        return f"#{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state == self.OPEN

    @property
    def is_pull(self) -> bool:
        return self.kind == self.PULL

    def get_absolute_url(self) -> str:
        from urllib.parse import quote
        section = "pulls" if self.is_pull else "issues"
        return f"/{quote(self.repository.full_name)}/{section}/{self.number}"


class Comment(models.Model):
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               related_name="issue_comments")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    edited = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "pk"]


class Event(models.Model):
    """A line of an issue's timeline that is not a comment: closed, reopened, labelled, assigned.
    Labels and users are kept by name as well, so the timeline still reads after they are deleted."""

    CLOSED, REOPENED = "closed", "reopened"
    LABELED, UNLABELED = "labeled", "unlabeled"
    ASSIGNED, UNASSIGNED = "assigned", "unassigned"
    MERGED, HEAD_DELETED = "merged", "head_gone"
    KINDS = [(k, k) for k in (CLOSED, REOPENED, LABELED, UNLABELED, ASSIGNED, UNASSIGNED, MERGED, HEAD_DELETED)]

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=10, choices=KINDS)
    label_name = models.CharField(max_length=50, blank=True, default="")
    label_color = models.CharField(max_length=7, blank=True, default="")
    subject_name = models.CharField(max_length=150, blank=True, default="")  # the user (un)assigned
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class PullRequest(models.Model):
    """What a pull request adds to its Issue: two branches of the repository and where they stand.

    The oids are what Forge last saw (hex); pushes to either branch and merges refresh them
    (issues.pulls), and the mergeability is computed for exactly that pair, so a page can tell
    whether what it shows is still current."""

    UNKNOWN, CLEAN, CONFLICT, MERGED, GONE = "unknown", "clean", "conflict", "merged", "gone"
    MERGE_STATES = [(s, s) for s in (UNKNOWN, CLEAN, CONFLICT, MERGED, GONE)]

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, primary_key=True, related_name="pull")
    base_ref = models.CharField(max_length=255)   # branch names, without refs/heads/
    head_ref = models.CharField(max_length=255)
    base_oid = models.CharField(max_length=40)
    head_oid = models.CharField(max_length=40)
    merge_base_oid = models.CharField(max_length=40, blank=True, default="")
    merge_state = models.CharField(max_length=8, choices=MERGE_STATES, default=UNKNOWN)
    conflicts = models.JSONField(default=list, blank=True)   # paths, when merge_state is CONFLICT
    merged_at = models.DateTimeField(null=True, blank=True)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    merge_commit_oid = models.CharField(max_length=40, blank=True, default="")
    merge_method = models.CharField(max_length=6, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["base_ref"]), models.Index(fields=["head_ref"])]

    def __str__(self):
        return f"{self.head_ref} -> {self.base_ref}"

    @property
    def is_merged(self) -> bool:
        return self.merged_at is not None


class Review(models.Model):
    """An approval, a request for changes, or a plain review comment, on the head as it was."""

    APPROVED, CHANGES_REQUESTED, COMMENTED = "approved", "changes", "commented"
    STATES = [(APPROVED, "Approved"), (CHANGES_REQUESTED, "Changes requested"), (COMMENTED, "Commented")]

    pull = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    state = models.CharField(max_length=9, choices=STATES)
    body = models.TextField(blank=True, default="")
    commit_oid = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class ReviewComment(models.Model):
    """A comment on one line of the pull request's diff: the file, the line number, and the side
    (LEFT: the merge base's line, RIGHT: the head's), on the head commit it was written against."""

    LEFT, RIGHT = "LEFT", "RIGHT"
    SIDES = [(LEFT, "Left"), (RIGHT, "Right")]

    pull = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="review_comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    path = models.CharField(max_length=4096)
    line = models.PositiveIntegerField()
    side = models.CharField(max_length=5, choices=SIDES, default=RIGHT)
    commit_oid = models.CharField(max_length=40)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
