"""JSON for git things that several routes answer with: a commit as GitHub's /commits gives it (and
its git-data form), a person of a commit, a list of changed files with their patches."""
import time
from datetime import datetime
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from ninja import Schema

from accounts.api import UserOut, user_json
from forge.api import api_url, web_url
from repos.store.diff import diff_trees

MAX_PATCH_FILES = 300      # GitHub lists at most 300 files of a commit or a comparison
STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "T": "changed"}


class GitActorOut(Schema):
    name: str
    email: str
    date: datetime


class ShaUrlOut(Schema):
    sha: str
    url: str


class ParentOut(Schema):
    sha: str
    url: str
    html_url: str


class VerificationOut(Schema):
    verified: bool
    reason: str
    signature: str | None
    payload: str | None


class GitCommitOut(Schema):
    """A commit as the git-data API gives it (/git/commits/{sha})."""
    sha: str
    node_id: str
    url: str
    html_url: str
    author: GitActorOut
    committer: GitActorOut
    tree: ShaUrlOut
    message: str
    parents: list[ParentOut]
    verification: VerificationOut


class CommitDetailOut(Schema):
    """The `commit` member of a /commits entry."""
    url: str
    author: GitActorOut
    committer: GitActorOut
    message: str
    tree: ShaUrlOut
    comment_count: int
    verification: VerificationOut


class StatsOut(Schema):
    additions: int
    deletions: int
    total: int


class FileOut(Schema):
    sha: str | None
    filename: str
    status: str
    additions: int
    deletions: int
    changes: int
    blob_url: str
    raw_url: str
    contents_url: str
    patch: str | None = None
    previous_filename: str | None = None


class CommitOut(Schema):
    """A commit as /repos/{o}/{r}/commits gives it; `stats` and `files` only for a single commit."""
    sha: str
    node_id: str
    url: str
    html_url: str
    comments_url: str
    commit: CommitDetailOut
    author: UserOut | None
    committer: UserOut | None
    parents: list[ParentOut]
    stats: StatsOut | None = None
    files: list[FileOut] | None = None


UNSIGNED = {"verified": False, "reason": "unsigned", "signature": None, "payload": None}


def iso_time(seconds: int) -> str:
    """GitHub's timestamps: UTC, to the second, with a Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def api_message(message: str) -> str:
    """A commit message as GitHub's API gives it: without the newline git ends it with."""
    return message[:-1] if message.endswith("\n") else message


def git_actor(name, email, seconds) -> dict:
    return {"name": name, "email": email, "date": iso_time(seconds)}


def _repo_api(request, repo, path):
    return api_url(request, f"/repos/{repo.full_name}{path}")


def parents_json(request, repo, parents) -> list[dict]:
    return [{"sha": p.hex(), "url": _repo_api(request, repo, f"/commits/{p.hex()}"),
             "html_url": web_url(request, f"/{repo.full_name}/commit/{p.hex()}")} for p in parents]


def git_commit_json(request, repo, info) -> dict:
    """`info` (repos.store.history.CommitInfo) as /git/commits/{sha} answers it."""
    sha = info.oid.hex()
    return {
        "sha": sha,
        "node_id": f"C_{sha}",
        "url": _repo_api(request, repo, f"/git/commits/{sha}"),
        "html_url": web_url(request, f"/{repo.full_name}/commit/{sha}"),
        "author": git_actor(info.author_name, info.author_email, info.author_time),
        "committer": git_actor(info.committer_name, info.committer_email, info.committer_time),
        "tree": {"sha": info.tree.hex(), "url": _repo_api(request, repo, f"/git/trees/{info.tree.hex()}")},
        "message": api_message(info.message),
        "parents": parents_json(request, repo, info.parents),
        "verification": UNSIGNED,
    }


def users_by_email(emails) -> dict:
    """{lowercased e-mail: user} for the Forge accounts whose e-mail is one of `emails` (one query):
    a commit's author is shown as the account that has the commit's address, as GitHub does."""
    wanted = {e.lower() for e in emails if e}
    if not wanted:
        return {}
    found = {}
    users = get_user_model().objects.annotate(email_lower=Lower("email"))
    for user in users.filter(email_lower__in=wanted, is_active=True).order_by("pk"):
        found.setdefault(user.email_lower, user)
    return found


def commits_json(request, repo, infos, users=None) -> list[dict]:
    """/commits entries for CommitInfos, the accounts of their authors looked up at once."""
    if users is None:
        users = users_by_email([i.author_email for i in infos] + [i.committer_email for i in infos])
    return [commit_json(request, repo, info, users) for info in infos]


def commit_json(request, repo, info, users=None, *, store=None, with_files=False) -> dict:
    """One /commits entry; with_files (a single commit): stats and files against the first parent."""
    if users is None:
        users = users_by_email([info.author_email, info.committer_email])
    sha = info.oid.hex()
    author = users.get(info.author_email.lower())
    committer = users.get(info.committer_email.lower())
    git = git_commit_json(request, repo, info)
    data = {
        "sha": sha,
        "node_id": f"C_{sha}",
        "url": _repo_api(request, repo, f"/commits/{sha}"),
        "html_url": git["html_url"],
        "comments_url": _repo_api(request, repo, f"/commits/{sha}/comments"),
        "commit": {
            "url": git["url"], "author": git["author"], "committer": git["committer"], "message": git["message"],
            "tree": git["tree"], "comment_count": 0, "verification": UNSIGNED,
        },
        "author": user_json(request, author) if author else None,
        "committer": user_json(request, committer) if committer else None,
        "parents": git["parents"],
    }
    if with_files:
        parent_tree = store.graph.node(info.parents[0]).tree if info.parents else None
        files, stats = files_json(request, repo, store, parent_tree, info.tree, sha)
        data["stats"] = stats
        data["files"] = files
    return data


def files_json(request, repo, store, old_tree, new_tree, at: str, *, max_files=MAX_PATCH_FILES):
    """([file entries], stats) for the change from old_tree (None: empty) to new_tree; `at` is the
    commit (hex) the files' URLs point into. Renames are found as `git diff -M` finds them."""
    diff = diff_trees(store, old_tree, new_tree, max_files=max_files)
    files = []
    for fp in diff.files:
        change = fp.change
        path = change.path
        quoted = quote(path)
        blob = change.new_oid or change.old_oid
        entry = {
            "sha": blob.hex() if blob else None,
            "filename": path,
            "status": STATUS[change.status],
            "additions": fp.added,
            "deletions": fp.deleted,
            "changes": fp.added + fp.deleted,
            "blob_url": web_url(request, f"/{repo.full_name}/blob/{at}/{quoted}"),
            "raw_url": web_url(request, f"/{repo.full_name}/raw/{at}/{quoted}"),
            "contents_url": _repo_api(request, repo, f"/contents/{quoted}?ref={at}"),
        }
        if not fp.binary and fp.hunks:
            entry["patch"] = hunks_text(fp.hunks)
        if change.status == "R":
            entry["previous_filename"] = change.old_path
        files.append(entry)
    stats = {"additions": diff.added, "deletions": diff.deleted, "total": diff.added + diff.deleted}
    return files, stats


def hunks_text(hunks) -> str:
    """A file's hunks as GitHub's `patch` field holds them: the @@ lines and their lines, no headers."""
    out = []
    for hunk in hunks:
        out.append(hunk.header)
        for line in hunk.lines:
            out.append(line.kind + line.text)
            if line.no_newline:
                out.append("\\ No newline at end of file")
    return "\n".join(out)
