"""Commits as GitHub's REST API gives them: the history list (/commits with sha, path, author,
committer, since, until), one commit with its files (/commits/{ref}) and the comparison of two
commits (/compare/BASE...HEAD).

Everything comes from the commit index (repos/store/history.py and ancestry.py): lists are in
`git log`'s default order, a path's history is `git log REF -- PATH` (no rename following, as
GitHub's), and no commit object is parsed to walk history.
"""
import re
from datetime import datetime, timezone

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from ninja import Router, Schema

from forge.api import ApiError, Page, api_url, errors, web_url
from repos.api.common import accessible, repository_store
from repos.api.serializers import CommitOut, FileOut, commit_json, commits_json, files_json, users_by_email
from repos.store.ancestry import ahead_behind, commits_between, merge_base
from repos.store.browse import NotFound, resolve_commit
from repos.store.history import commit_info, log_page

router = Router(tags=["commits"])

EMPTY = "Git Repository is empty."
MAX_COMPARE_COMMITS = 250   # GitHub lists at most this many commits of a comparison (unless paged)
_SCAN_BATCH = 500           # commits read per step when filtering by committer or date
# Paths below /commits/{sha}/ that GitHub serves and a `{path:ref}` route would otherwise swallow.
_SUBRESOURCES = ("comments", "status", "statuses", "check-runs", "check-suites", "pulls", "branches-where-head")


# -- resolving what a caller names -----------------------------------------------------------------

_ANCESTRY_SUFFIX = re.compile(r"((?:[~^][0-9]{0,4})+)$")


def resolve_commitish(store, spec: str) -> bytes | None:
    """The commit a branch, tag (peeled), full ref, `heads/X` / `tags/X`, HEAD or (abbreviated)
    commit id names, optionally followed by git's `~N` / `^N` steps; None when it names no commit."""
    spec = (spec or "").strip()
    if not spec or len(spec) > 1024 or "\0" in spec:
        return None
    found = _resolve_name(store, spec)
    steps = _ANCESTRY_SUFFIX.search(spec)
    if found is None and steps and steps.start() > 0:
        found = _resolve_name(store, spec[:steps.start()])
        for step in re.findall(r"[~^][0-9]*", steps.group(1)):
            if found is None:
                break
            found = _step(store, found, step[0], int(step[1:]) if len(step) > 1 else 1)
    return found


def _step(store, oid, kind, number):
    """`~N` (N first parents back) or `^N` (the N-th parent; ^0 the commit itself)."""
    if kind == "^":
        if number == 0:
            return oid
        parents = _parents(store, oid)
        return parents[number - 1] if number <= len(parents) else None
    for _ in range(number):
        parents = _parents(store, oid)
        if not parents:
            return None
        oid = parents[0]
    return oid


def _parents(store, oid):
    node = store.graph.node(oid)
    return node.parents if node is not None else ()


def _resolve_name(store, spec):
    candidates = [spec]
    if spec.startswith(("heads/", "tags/")):
        candidates.append("refs/" + spec)
    if _looks_hex(spec) and spec != spec.lower():
        candidates.append(spec.lower())
    for candidate in candidates:
        try:
            _, oid = resolve_commit(store, candidate)
        except (NotFound, ValueError, LookupError):
            continue
        if oid is not None and store.graph.node(oid) is not None:
            return oid
    return None


def _looks_hex(text):
    return 4 <= len(text) <= 40 and all(c in "0123456789abcdefABCDEF" for c in text)


def _default_tip(store, repo) -> bytes:
    """The default branch's tip: 409 for an empty repository, 404 when the branch is gone."""
    if store.is_empty():
        raise ApiError(409, EMPTY)
    for ref in (f"refs/heads/{repo.default_branch}", store.head_ref()):
        oid = store.ref(ref)
        if oid is not None:
            return store.reader.peel(oid)
    raise ApiError(404, "Not Found")


# -- /commits --------------------------------------------------------------------------------------

def _person_needle(text: str | None) -> str | None:
    """What a commit's "Name <email>" must contain (lowercased) for GitHub's author/committer
    filter: an e-mail address exactly; a Forge login stands for its account's address; anything
    else is matched as text, as `git log --author` matches it."""
    text = (text or "").strip()
    if not text:
        return None
    if "@" in text:
        return f"<{text.lower()}>"
    user = get_user_model().objects.filter(username__iexact=text, is_active=True).first()
    if user is not None and user.email:
        return f"<{user.email.lower()}>"
    return text.lower()


def _seconds(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _scan(store, tip, path, author, committer, since, until):
    """`git log [--author] [--committer] [--since] [--until] TIP -- PATH`, one CommitInfo at a
    time. As git's walk does, the list ends at the first commit older than `since` (in date
    order every commit still queued is older too)."""
    cursor, number = None, 1
    while True:
        found = log_page(store, tip, path=path, page=number, per_page=_SCAN_BATCH, cursor=cursor,
                         author=author, follow=False)
        for info in found.commits:
            if since is not None and info.committer_time < since:
                return
            if until is not None and info.committer_time > until:
                continue
            if committer and committer not in f"{info.committer_name} <{info.committer_email}>".lower():
                continue
            yield info
        if not found.has_next:
            return
        cursor, number = found.next_cursor, number + 1


@router.get("/repos/{owner}/{repo}/commits", response={200: list[CommitOut], **errors(404, 409, 422)},
            summary="List commits")
def list_commits(request, response: HttpResponse, owner: str, repo: str, sha: str | None = None,
                 path: str | None = None, author: str | None = None, committer: str | None = None,
                 since: datetime | None = None, until: datetime | None = None, page: int = 1,
                 per_page: int = 30):
    _, repository = accessible(request, owner, repo)
    paging = Page(page, per_page)
    with repository_store(repository) as store:
        if sha:
            if store.is_empty():
                raise ApiError(409, EMPTY)
            tip = resolve_commitish(store, sha)
            if tip is None:
                raise ApiError(404, f"No commit found for SHA: {sha}")
        else:
            tip = _default_tip(store, repository)
        path = (path or "").strip("/")
        author_needle = _person_needle(author)
        committer_needle = _person_needle(committer)
        if committer_needle or since is not None or until is not None:
            fetched = []
            for info in _scan(store, tip, path, author_needle, committer_needle, _seconds(since), _seconds(until)):
                fetched.append(info)
                if len(fetched) > paging.offset + paging.size:
                    break
            infos = paging.take_open(request, response, fetched[paging.offset:])
        else:
            found = log_page(store, tip, path=path, page=paging.number, per_page=paging.size,
                             author=author_needle, follow=False)
            paging.link(request, response, has_next=found.has_next)
            infos = found.commits
        return commits_json(request, repository, infos)


# -- /commits/{ref} --------------------------------------------------------------------------------

@router.get("/repos/{owner}/{repo}/commits/{path:ref}", response={200: CommitOut, **errors(404, 409, 422)},
            summary="Get a commit")
def get_commit(request, owner: str, repo: str, ref: str):
    _, repository = accessible(request, owner, repo)
    with repository_store(repository) as store:
        if store.is_empty():
            raise ApiError(409, EMPTY)
        oid = resolve_commitish(store, ref)
        if oid is None:
            if "/" in ref and ref.rsplit("/", 1)[1] in _SUBRESOURCES:
                raise ApiError(404, "Not Found")
            raise ApiError(422, f"No commit found for SHA: {ref}")
        return commit_json(request, repository, commit_info(store, oid), store=store, with_files=True)


# -- /compare/{base}...{head} ----------------------------------------------------------------------

class CompareOut(Schema):
    url: str
    html_url: str
    permalink_url: str
    diff_url: str
    patch_url: str
    base_commit: CommitOut
    merge_base_commit: CommitOut
    status: str
    ahead_by: int
    behind_by: int
    total_commits: int
    commits: list[CommitOut]
    files: list[FileOut]


def _split_basehead(basehead: str) -> tuple[str, str] | None:
    for separator in ("...", ".."):
        base, found, head = basehead.partition(separator)
        if found and base and head:
            return base, head
    return None


def _own_ref(spec: str, owner: str) -> str | None:
    """GitHub's `OWNER:REF` form names a ref of a fork; here only this repository's owner is known."""
    if ":" in spec:
        prefix, _, rest = spec.partition(":")
        return rest if prefix.lower() == owner.lower() and rest else None
    return spec


def compare_status(ahead: int, behind: int) -> str:
    if ahead and behind:
        return "diverged"
    if ahead:
        return "ahead"
    return "behind" if behind else "identical"


@router.get("/repos/{owner}/{repo}/compare/{path:basehead}", response={200: CompareOut, **errors(404, 409, 422)},
            summary="Compare two commits")
def compare_commits(request, response: HttpResponse, owner: str, repo: str, basehead: str,
                    page: int | None = None, per_page: int | None = None):
    _, repository = accessible(request, owner, repo)
    sides = _split_basehead(basehead)
    if sides is None:
        raise ApiError(404, "Not Found")
    names = [_own_ref(side, repository.owner.username) for side in sides]
    if None in names:
        raise ApiError(404, "Not Found")
    with repository_store(repository) as store:
        if store.is_empty():
            raise ApiError(409, EMPTY)
        base, head = (resolve_commitish(store, name) for name in names)
        if base is None or head is None:
            raise ApiError(404, "Not Found")
        common = merge_base(store, base, head)
        if common is None:
            raise ApiError(404, f"No common ancestor between {names[0]} and {names[1]}.")
        ahead, behind = ahead_behind(store, base, head)
        # git log base..head is newest first; GitHub lists a comparison oldest first.
        between = list(reversed(commits_between(store, base, head, limit=ahead)))
        if page is not None or per_page is not None:
            between = Page(page, per_page).take(request, response, between)
        else:
            between = between[:MAX_COMPARE_COMMITS]
        base_info, common_info, head_info = (commit_info(store, oid) for oid in (base, common, head))
        users = users_by_email([i.author_email for i in (*between, base_info, common_info)]
                               + [i.committer_email for i in (*between, base_info, common_info)])
        files, _ = files_json(request, repository, store, common_info.tree, head_info.tree, head.hex())
        full = repository.full_name
        html = web_url(request, f"/{full}/compare/{basehead}")
        login = repository.owner.username
        return {
            "url": api_url(request, f"/repos/{full}/compare/{basehead}"),
            "html_url": html,
            "permalink_url": web_url(request, f"/{full}/compare/{login}:{base.hex()}...{login}:{head.hex()}"),
            "diff_url": html + ".diff",
            "patch_url": html + ".patch",
            "base_commit": commit_json(request, repository, base_info, users),
            "merge_base_commit": commit_json(request, repository, common_info, users),
            "status": compare_status(ahead, behind),
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": ahead,
            "commits": commits_json(request, repository, between, users),
            "files": files,
        }
