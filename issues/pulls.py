"""Pull requests between two branches of one repository: opening, following pushes, merging.

Mergeability is computed for a (base tip, head tip) pair and kept with it; a push to either branch
only marks a pull request for recomputation (and notices at once, cheaply, a head that reached the
base by a push — then it is merged — or a branch that is gone), so pushes stay fast. The merge
itself is repos.store.pullmerge: the base moves by compare-and-swap from the tip this module read,
so a push racing a merge makes the merge fail cleanly and nothing is lost."""
import logging

from django.db import transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from accounts.actor import Actor
from accounts.selectors import actor_user
from issues import permissions
from issues.models import Event, Issue, PullRequest
from issues.services import InvalidInput, NotAllowed, create_issue
from repos.selectors import store_path
from repos.services import refs_written, user_signature, write_tmp_dir
from repos.signals import refs_moved
from repos.store import RepoStore
from repos.store import pullmerge
from repos.store.ancestry import merge_base
from repos.store.packformat import ZERO_OID
from repos.store.write import RefMoved, WriteRefused, write_and_move_ref

log = logging.getLogger(__name__)
BRANCH = "refs/heads/"


class MergeFailed(Exception):
    """The merge did not happen; the message says why, and nothing was changed."""

    def __init__(self, message, conflicts=()):
        super().__init__(message)
        self.conflicts = list(conflicts)


def _open(repo):
    return RepoStore.open(store_path(repo))


def open_pull_request(actor: Actor, repo, base: str, head: str, title: str, body: str = "") -> Issue:
    """A new pull request asking to merge branch `head` into branch `base`."""
    if not permissions.can_open(actor, repo):
        raise NotAllowed("you may not open pull requests here")
    if base == head:
        raise InvalidInput("head", "Choose two different branches.")
    with _open(repo) as store:
        base_tip, head_tip = store.ref(BRANCH + base), store.ref(BRANCH + head)
        if base_tip is None:
            raise InvalidInput("base", f"There is no branch {base!r}.")
        if head_tip is None:
            raise InvalidInput("head", f"There is no branch {head!r}.")
        if store.graph.is_ancestor(head_tip, base_tip):
            raise InvalidInput("head", f"{base} already contains everything in {head}.")
        base_oid = merge_base(store, base_tip, head_tip)
    existing = PullRequest.objects.filter(issue__repository=repo, issue__state=Issue.OPEN, base_ref=base,
                                          head_ref=head).select_related("issue").first()
    if existing is not None:
        raise InvalidInput("head", f"A pull request for {head} into {base} is already open: #{existing.issue.number}.")
    with transaction.atomic():
        issue = create_issue(actor, repo, title, body, kind=Issue.PULL)
        PullRequest.objects.create(issue=issue, base_ref=base, head_ref=head, base_oid=base_tip.hex(),
                                   head_oid=head_tip.hex(), merge_base_oid=base_oid.hex() if base_oid else "")
    return issue


def refresh(pull: PullRequest, store=None) -> PullRequest:
    """Bring `pull` up to date with its branches and compute its mergeability if it is unknown."""
    if pull.is_merged or not pull.issue.is_open:
        return pull
    if store is None:
        with _open(pull.issue.repository) as opened:
            return refresh(pull, opened)
    tips = _follow_tips(pull, store)
    if tips is not None and pull.merge_state == PullRequest.UNKNOWN:
        result = pullmerge.preview(store, *tips)
        pull.merge_base_oid = result.bases[0].hex() if result.bases else ""
        pull.conflicts = [p.decode("utf-8", "replace") for p in result.conflicts]
        pull.merge_state = PullRequest.CONFLICT if result.conflicts else PullRequest.CLEAN
        pull.save(update_fields=["merge_base_oid", "conflicts", "merge_state"])
    return pull


def _follow_tips(pull, store):
    """Move `pull` to where its branches are now: gone if one is missing, merged if the head is
    in the base, else the new tips with the mergeability unknown if they (or a branch) came back
    changed. Returns (base tip, head tip) while the pull request can still be merged, else None."""
    if _finish_interrupted_merge(pull, store):
        return None
    base_tip, head_tip = store.ref(BRANCH + pull.base_ref), store.ref(BRANCH + pull.head_ref)
    if base_tip is None or head_tip is None:
        _mark(pull, PullRequest.GONE)
        return None
    if store.graph.is_ancestor(head_tip, base_tip):
        pull.base_oid, pull.head_oid = base_tip.hex(), head_tip.hex()
        _merged_by_push(pull, base_tip)
        return None
    if (base_tip.hex(), head_tip.hex()) != (pull.base_oid, pull.head_oid) or pull.merge_state == PullRequest.GONE:
        pull.base_oid, pull.head_oid, pull.merge_state = base_tip.hex(), head_tip.hex(), PullRequest.UNKNOWN
        pull.save(update_fields=["base_oid", "head_oid", "merge_state"])
    return base_tip, head_tip


# --- a merge whose process died between the two databases ------------------------------------------------
# A merge moves the base branch in the repository's store, then records the pull request as merged in
# the main database: two commits, and a worker killed between them leaves the branch merged and the
# pull request open. So the method is written down first (merge_method set while merged_at is empty:
# "a merge of base_oid and head_oid was begun"); whoever next looks at the pull request checks
# whether the commit that merge makes sits on the base right after base_oid, and records it.
MAX_INTERRUPTED_MERGE_WALK = 1000


def _begin_merge(pull, method):
    PullRequest.objects.filter(pk=pull.pk, merged_at__isnull=True).update(merge_method=method)
    pull.merge_method = method


def _forget_merge(pull):
    PullRequest.objects.filter(pk=pull.pk, merged_at__isnull=True).update(merge_method="")
    pull.merge_method = ""


def _finish_interrupted_merge(pull, store) -> bool:
    """True when a begun merge turns out to have landed (it is now recorded). A begun merge that
    did not land and never can (the base moved on without it) is forgotten."""
    if not pull.merge_method or pull.is_merged:
        return False
    start = bytes.fromhex(pull.base_oid)
    base_tip = store.ref(BRANCH + pull.base_ref)
    if base_tip is None or base_tip == start:
        return False  # nothing landed yet (the merge failed, died early, or is running now)
    commit = _landed_merge(store, base_tip, start, bytes.fromhex(pull.head_oid), pull.merge_method)
    if commit is None:
        _forget_merge(pull)
        return False
    log.warning("pull request %s: recording a merge (%s) whose process stopped after it moved %s to %s",
                pull.pk, pull.merge_method, pull.base_ref, commit.hex())
    _record_merge(pull, None, pull.merge_method, commit.hex())
    return True


def _landed_merge(store, tip, start, head, method):
    """The commit a merge of `head` into `start` by `method` made, if it is on `tip`'s first-parent
    line right after `start` (a merge lands by compare-and-swap from `start`), else None."""
    chain, oid = [], tip
    while oid != start:
        parents = store.graph.node(oid).parents
        if not parents or len(chain) >= MAX_INTERRUPTED_MERGE_WALK:
            return None
        chain.append(oid)
        oid = parents[0]
    chain.reverse()  # oldest first: chain[0] was written on top of `start`
    first = store.graph.node(chain[0])
    if method == pullmerge.MERGE:
        return chain[0] if first.parents == (start, head) else None
    if method == pullmerge.SQUASH:
        expected = pullmerge.preview(store, start, head).tree
        return chain[0] if first.parents == (start,) and first.tree == expected else None
    # rebase: the head's commits replayed one by one, each with the merger's committer line (one
    # signature for the whole rebase), authors and messages kept.
    def header(oid, key):
        raw = store.get(oid)[1]
        head_part, _, message = raw.partition(b"\n\n")
        lines = [line for line in head_part.split(b"\n") if line.startswith(key + b" ")]
        return (lines[0] if lines else b""), message

    committer = header(chain[0], b"committer")[0]
    replayed = {header(oid, b"author") for oid in store.graph.walk_excluding([head], [start])}
    if header(chain[0], b"author") not in replayed:
        return None
    last = chain[0]
    for oid in chain[1:]:
        if header(oid, b"committer")[0] != committer or header(oid, b"author") not in replayed:
            break
        last = oid
    return last


def _record_merge(pull, user, method, commit_hex):
    """Record `pull` as merged by `commit_hex`, once (a recovering reader and the merging process may
    both get here)."""
    now = timezone.now()
    with transaction.atomic():
        updated = PullRequest.objects.filter(pk=pull.pk, merged_at__isnull=True).update(
            merged_at=now, merged_by=user, merge_method=method, merge_commit_oid=commit_hex,
            merge_state=PullRequest.MERGED, base_oid=commit_hex)
        if updated:
            Issue.objects.filter(pk=pull.issue.pk).update(state=Issue.CLOSED, closed_at=now, closed_by=user)
            Event.objects.create(issue=pull.issue, actor=user, kind=Event.MERGED)
    pull.refresh_from_db()
    pull.issue.refresh_from_db()


def _mark(pull, state):
    if pull.merge_state != state:
        pull.merge_state = state
        pull.save(update_fields=["merge_state"])


def _merged_by_push(pull, base_tip):
    """The head's commits reached the base by a push (merged on someone's machine): merged."""
    now = timezone.now()
    with transaction.atomic():
        pull.merge_state, pull.merged_at, pull.merge_commit_oid = PullRequest.MERGED, now, base_tip.hex()
        pull.save()
        Issue.objects.filter(pk=pull.issue.pk).update(state=Issue.CLOSED, closed_at=now)
        Event.objects.create(issue=pull.issue, kind=Event.MERGED)
    pull.issue.state, pull.issue.closed_at = Issue.CLOSED, now


@receiver(refs_moved)
def follow_push(sender, repository, updates, actor=None, **kwargs):
    """A push moved branches: the open pull requests on them are recomputed when next looked at;
    one whose head is now in its base is merged; one whose branch went is marked gone."""
    moved = {name[len(BRANCH):]: new for name, _old, new in updates if name.startswith(BRANCH)}
    if not moved:
        return
    pulls = list(PullRequest.objects.select_related("issue", "issue__repository").filter(
        Q(base_ref__in=list(moved)) | Q(head_ref__in=list(moved)),
        issue__repository=repository, issue__state=Issue.OPEN, merged_at__isnull=True))
    if not pulls:
        return
    with _open(repository) as store:
        for pull in pulls:
            if moved.get(pull.head_ref) == ZERO_OID:
                Event.objects.create(issue=pull.issue, kind=Event.HEAD_DELETED)
            _follow_tips(pull, store)


def default_message(pull: PullRequest, method: str) -> str:
    issue = pull.issue
    if method == pullmerge.MERGE:
        return f"Merge pull request #{issue.number} from {pull.head_ref}\n\n{issue.title}\n"
    return f"{issue.title} (#{issue.number})\n"


def merge_pull_request(actor: Actor, pull: PullRequest, method: str = pullmerge.MERGE, *,
                       expected_head: str | None = None, message: str | None = None,
                       delete_branch: bool = False) -> pullmerge.Merged:
    """Merge `pull` by `method` (merge, squash, rebase). `expected_head`: the head commit the merger
    saw (GitHub's `sha`); if the head moved since, the merge is refused. Raises NotAllowed,
    MergeFailed (conflicts, a moved branch, nothing to merge): then nothing changed."""
    issue = pull.issue
    repo = issue.repository
    if not permissions.can_merge(actor, repo):
        raise NotAllowed("you may not merge pull requests here")
    if method not in pullmerge.METHODS:
        raise InvalidInput("method", f"Unknown merge method {method!r}.")
    user = actor_user(actor)
    with _open(repo) as store:
        refresh(pull, store)
        if pull.is_merged:
            raise MergeFailed("This pull request is already merged.")
        if not issue.is_open:
            raise MergeFailed("This pull request is closed.")
        if pull.merge_state == PullRequest.GONE:
            raise MergeFailed("A branch of this pull request is gone.")
        if expected_head and expected_head.lower() != pull.head_oid:
            raise MergeFailed("The head branch moved since you looked at it; nothing was merged. Review it again.")
        _begin_merge(pull, method)
        try:
            merged = pullmerge.merge_branch(
                store, target_ref=BRANCH + pull.base_ref, expected_tip=bytes.fromhex(pull.base_oid),
                head=bytes.fromhex(pull.head_oid), method=method,
                message=message or default_message(pull, method), committer=user_signature(user),
                tmp_dir=write_tmp_dir())
        except pullmerge.MergeConflict as conflict:
            _forget_merge(pull)
            raise MergeFailed(f"Merging would conflict in {', '.join(conflict.paths)}; nothing was merged.",
                              conflict.paths) from None
        except RefMoved:
            _forget_merge(pull)
            raise MergeFailed(f"{pull.base_ref} moved while merging (someone pushed); nothing was merged. "
                              "Try again.") from None
        except pullmerge.NothingToMerge as error:
            _forget_merge(pull)
            raise MergeFailed(str(error)) from None
        except (WriteRefused, ValueError) as error:
            _forget_merge(pull)
            raise MergeFailed(f"The merge was refused: {error}") from None
        # Any other failure (storage) keeps the begun merge: the next reader finds out from the store.
        deleted = delete_branch and _delete_head(store, pull)
    _record_merge(pull, user, method, merged.new_tip.hex())
    updates = [(BRANCH + pull.base_ref, merged.old_tip, merged.new_tip)]
    if deleted:
        updates.append((BRANCH + pull.head_ref, bytes.fromhex(pull.head_oid), ZERO_OID))
    refs_written(repo, actor, updates)  # records the push (pushed_at) and tells refs_moved receivers
    return merged


def _delete_head(store, pull) -> bool:
    try:
        write_and_move_ref(store, {}, BRANCH + pull.head_ref, bytes.fromhex(pull.head_oid), ZERO_OID)
        return True
    except WriteRefused:
        return False  # someone pushed to it meanwhile: keep their commits
