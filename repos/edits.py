"""Committing files through the API: one file at a time (GitHub's contents API) or a set of changes
on a new branch with a pull request (Forge's agent workflow). The git work is repos.store.edit; this
module checks who may write, turns the caller's answers into errors the routes map to GitHub's
statuses, and tells the rest of Forge (refs_written) as a push would. Nothing is written when any
step refuses."""
from dataclasses import dataclass

from accounts.access import WRITE, allowed_needs
from accounts.selectors import actor_user
from repos.refnames import branch_name_error
from repos.selectors import store_path
from repos.services import refs_written, user_signature, write_tmp_dir
from repos.store import RepoStore
from repos.store.edit import Change, ChangeError, Committed, commit_changes, entry_at
from repos.store.packformat import ZERO_OID
from repos.store.trees import is_tree
from repos.store.write import RefMoved, Signature, WriteRefused, write_and_move_ref

BRANCH = "refs/heads/"
ATTEMPTS = 3   # a file write retries when the branch moved but the file did not (as GitHub does)


class EditError(Exception):
    """The write was refused and nothing changed. `kind` says how the API answers:
    "not_found" (404), "conflict" (409), "invalid" (422), "forbidden" (403); `field` names the input."""

    def __init__(self, kind: str, message: str, field: str = "", index: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.field = field
        self.index = index


@dataclass(frozen=True)
class Person:
    """An author or committer the caller named; `time` (epoch seconds) and `tz_minutes` optional."""
    name: str
    email: str
    time: int | None = None
    tz_minutes: int = 0


@dataclass
class FileWritten:
    committed: Committed
    branch: str
    path: str
    created: bool            # the file did not exist before
    mode: int | None         # None after a delete
    blob: bytes | None
    size: int | None


@dataclass
class Proposed:
    committed: Committed
    branch: str
    base: str
    base_tip: bytes
    pull: object | None      # issues.models.Issue (a pull request), or None when none was asked for


def _signature(person: Person | None, fallback: Signature) -> Signature:
    if person is None:
        return fallback
    return Signature(person.name, person.email, person.time if person.time is not None else fallback.time,
                     person.tz_minutes if person.time is not None else 0)


def _people(actor, author: Person | None, committer: Person | None):
    """(author, committer) signatures: GitHub's rule, the committer defaults to the caller's account,
    the author to the committer."""
    user = actor_user(actor)
    if user is None:
        raise EditError("forbidden", "Must be signed in to commit.")
    own = user_signature(user)
    committer_sig = _signature(committer, own)
    author_sig = _signature(author, committer_sig)
    return author_sig, committer_sig


def _check_write(actor, repo):
    if WRITE not in allowed_needs(actor, repo):
        raise EditError("forbidden", "Permission to push to this repository denied.")


def _branch(repo, branch: str | None) -> str:
    name = branch or repo.default_branch
    if not isinstance(name, str) or branch_name_error(name):
        raise EditError("invalid", f"Invalid branch name {name!r}.", "branch")
    return name


def _finish(repo, actor, committed: Committed) -> None:
    refs_written(repo, actor, committed.updates, committed.new_head)


# --- GitHub's contents API: one file ------------------------------------------------------------------

def put_file(actor, repo, path: str, content: bytes, *, message: str, branch: str | None = None,
             sha: str | None = None, author: Person | None = None, committer: Person | None = None,
             mode: int | None = None) -> FileWritten:
    """Create or replace the file `path` on `branch` (default: the default branch) in one commit.
    Replacing needs `sha`, the blob the caller last saw there. An empty repository takes its first
    file: the branch is created and becomes the default."""
    def check(store, tip):
        if tip is None and _has_branches(store):
            raise EditError("not_found", f"Branch {name} not found", "branch")
        existing = entry_at(store, store.graph.node(tip).tree, path) if tip else None
        if existing is not None and is_tree(existing[0]):
            raise EditError("invalid", f"{path} is a directory.", "path")
        if existing is not None:
            _check_sha(path, sha, existing)
        return existing

    name = _branch(repo, branch)
    committed, existing = _write_one_file(actor, repo, name, path, Change.write(path, content, mode), check,
                                          message=message, people=(author, committer), doing="writing")
    mode_written, blob = committed.written[path]
    return FileWritten(committed, name, path, existing is None, mode_written, blob, len(content))


def delete_file(actor, repo, path: str, *, message: str, sha: str | None, branch: str | None = None,
                author: Person | None = None, committer: Person | None = None) -> FileWritten:
    """Delete the file `path` on `branch`; `sha` must be the blob the caller last saw there."""
    def check(store, tip):
        if tip is None:
            raise EditError("not_found", f"Branch {name} not found" if _has_branches(store)
                            else "This repository is empty.", "branch")
        existing = entry_at(store, store.graph.node(tip).tree, path)
        if existing is None or is_tree(existing[0]):
            raise EditError("not_found", "Not Found", "path")
        _check_sha(path, sha, existing)
        return existing

    name = _branch(repo, branch)
    committed, _ = _write_one_file(actor, repo, name, path, Change.remove(path), check,
                                   message=message, people=(author, committer), doing="deleting")
    return FileWritten(committed, name, path, False, None, None, None)


def _check_sha(path, sha, existing):
    if not sha:
        raise EditError("invalid", "Invalid request.\n\n\"sha\" wasn't supplied.", "sha")
    if sha.lower() != existing[1].hex():
        raise EditError("conflict", f"{path} does not match {sha}", "sha")


def _write_one_file(actor, repo, name, path, change, check, *, message, people, doing):
    """Commit one file change on branch `name`; check(store, tip) -> the entry there now (or
    raises). When the branch moves meanwhile, the check and the write are tried again, as GitHub
    does: a push elsewhere in the tree does not make a file write fail."""
    _check_write(actor, repo)
    author_sig, committer_sig = _people(actor, *people)
    with RepoStore.open(store_path(repo)) as store:
        for attempt in range(ATTEMPTS):
            tip = store.ref(BRANCH + name)
            existing = check(store, tip)
            try:
                committed = commit_changes(store, ref=BRANCH + name, expected_tip=tip, base=tip, changes=[change],
                                           message=message, author=author_sig, committer=committer_sig,
                                           tmp_dir=write_tmp_dir())
            except ChangeError as error:
                raise EditError("invalid", str(error), "path") from None
            except RefMoved:
                if attempt + 1 < ATTEMPTS:
                    continue
                raise EditError("conflict", f"{name} moved while {doing} {path}; nothing was changed.") from None
            except WriteRefused as error:
                raise EditError("conflict", str(error)) from None
            break
    _finish(repo, actor, committed)
    return committed, existing


def _has_branches(store) -> bool:
    return any(name.startswith(BRANCH) for name, _, _ in store.refs())


# --- Forge's agent workflow: changes on a new branch, and a pull request ------------------------------

def commit_to_new_branch(actor, repo, *, branch: str, changes: list[Change], message: str,
                         base: str | None = None, expected_sha: str | None = None,
                         author: Person | None = None) -> tuple[Committed, str, bytes]:
    """One commit of `changes` on top of `base` (default: the default branch), landing as the NEW
    branch `branch`. `expected_sha`: the base tip the caller saw (refused if the base moved).
    -> (committed, base name, base tip)."""
    _check_write(actor, repo)
    if not changes:
        raise EditError("invalid", "No changes given.", "changes")
    if not isinstance(branch, str) or not branch or branch_name_error(branch):
        raise EditError("invalid", f"Invalid branch name {branch!r}.", "branch")
    base_name = _branch(repo, base)
    author_sig, committer_sig = _people(actor, author, None)
    with RepoStore.open(store_path(repo)) as store:
        base_tip = store.ref(BRANCH + base_name)
        if base_tip is None:
            raise EditError("invalid", f"There is no branch {base_name!r} to start from.", "base")
        if expected_sha is not None and expected_sha.lower() != base_tip.hex():
            raise EditError("conflict", f"{base_name} is at {base_tip.hex()}, not {expected_sha}: it moved since "
                                        "you read it. Nothing was written.", "expected_sha")
        if store.ref(BRANCH + branch) is not None:
            raise EditError("invalid", f"Branch {branch} already exists.", "branch")
        try:
            committed = commit_changes(store, ref=BRANCH + branch, expected_tip=None, base=base_tip,
                                       changes=changes, message=message, author=author_sig,
                                       committer=committer_sig, tmp_dir=write_tmp_dir())
        except ChangeError as error:
            raise EditError("invalid", f"change {error.index}: {error}", "changes", error.index) from None
        except RefMoved:
            raise EditError("invalid", f"Branch {branch} already exists.", "branch") from None
        except WriteRefused as error:
            # Such as a ref name clash (refs/heads/a beside refs/heads/a/b).
            raise EditError("invalid", f"Branch {branch} cannot be created: {error}", "branch") from None
    _finish(repo, actor, committed)
    return committed, base_name, base_tip


def delete_branch_at(actor, repo, branch: str, tip: bytes) -> bool:
    """Delete `branch` if it still points at `tip` (compare-and-swap); False if it moved."""
    with RepoStore.open(store_path(repo)) as store:
        try:
            write_and_move_ref(store, {}, BRANCH + branch, tip, ZERO_OID, write_tmp_dir())
        except WriteRefused:
            return False
    refs_written(repo, actor, [(BRANCH + branch, tip, ZERO_OID)])
    return True


def _open_pull_from(repo, branch: str) -> int | None:
    """The number of an open pull request whose head is `branch` (its branch may be gone), or None."""
    from issues.models import Issue, PullRequest

    found = PullRequest.objects.filter(issue__repository=repo, issue__state=Issue.OPEN, head_ref=branch,
                                       merged_at__isnull=True).values_list("issue__number", flat=True).first()
    return found


def propose_changes(actor, repo, *, branch: str, changes: list[Change], message: str, base: str | None = None,
                    expected_sha: str | None = None, author: Person | None = None,
                    pull_request: tuple[str, str] | None = None) -> Proposed:
    """commit_to_new_branch, then (when `pull_request` = (title, body) is given) a pull request from
    the new branch into the base. Opening a pull request needs what the web asks (issues:write for
    an agent; issues.permissions.can_open), checked before anything is written. If the pull request
    cannot be opened after the branch landed, the branch is deleted again (compare-and-swap: only if
    nobody moved it since), so the caller is left with nothing, and the error is raised."""
    from issues import permissions
    from issues.pulls import open_pull_request
    from issues.services import InvalidInput, NotAllowed

    if pull_request is not None:
        _check_write(actor, repo)
        if not permissions.can_open(actor, repo):
            raise EditError("forbidden", "Opening a pull request needs the issues:write scope.", "pull_request")
        title, _body = pull_request
        if not isinstance(title, str) or not title.strip():
            raise EditError("invalid", "A pull request needs a title.", "pull_request.title")
        # Refused before writing: landing the branch would first move that pull request onto it.
        open_already = _open_pull_from(repo, branch)
        if open_already is not None:
            raise EditError("invalid", f"A pull request from {branch} is already open: #{open_already}; "
                                       "nothing was written.", "branch")
    committed, base_name, base_tip = commit_to_new_branch(actor, repo, branch=branch, changes=changes,
                                                          message=message, base=base, expected_sha=expected_sha,
                                                          author=author)
    pull = None
    if pull_request is not None:
        title, body = pull_request
        try:
            pull = open_pull_request(actor, repo, base_name, branch, title, body or "")
        except (InvalidInput, NotAllowed) as error:
            removed = delete_branch_at(actor, repo, branch, committed.commit)
            left = ("the branch was deleted again; nothing is left" if removed
                    else f"the branch {branch} moved meanwhile and was left as it is")
            raise EditError("invalid", f"The pull request could not be opened ({error}); {left}.",
                            "pull_request") from None
    return Proposed(committed, branch, base_name, base_tip, pull)


__all__ = [
    "Change",
    "EditError",
    "FileWritten",
    "Person",
    "Proposed",
    "commit_to_new_branch",
    "delete_branch_at",
    "delete_file",
    "propose_changes",
    "put_file",
]
