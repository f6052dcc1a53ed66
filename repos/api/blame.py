"""Blame as JSON (Forge's own route; GitHub has blame only in GraphQL):
GET /repos/{o}/{r}/forge/blame/{path}?ref=REF  (REF: a branch, tag or commit, default the default
branch; the ref is a query parameter because branch names and paths both hold '/').

{ref, commit, path, ranges: [{start_line, end_line, count, orig_path, orig_start_line,
commit: {sha, url, html_url, author {name, email, date}, committer {...}, summary}}], lines}
from repos/store/blame.py (git blame's walk: ranges are what `git blame --porcelain` gives).
`lines=false` leaves the file's lines out."""
from ninja import Router, Schema

from forge.api import ApiError, api_url, errors, web_url
from repos.api.commits import EMPTY, resolve_commitish
from repos.api.common import accessible, repository_store
from repos.api.serializers import GitActorOut, git_actor
from repos.store.blame import BlameTooLarge, blame
from repos.store.browse import NotFound
from repos.store.history import commit_infos

router = Router(tags=["blame"])


class BlameCommitOut(Schema):
    sha: str
    url: str
    html_url: str
    author: GitActorOut
    committer: GitActorOut
    summary: str


class BlameRangeOut(Schema):
    start_line: int
    end_line: int
    count: int
    orig_path: str
    orig_start_line: int
    commit: BlameCommitOut


class BlameOut(Schema):
    ref: str
    commit: str
    path: str
    ranges: list[BlameRangeOut]
    lines: list[str] | None = None


@router.get("/repos/{owner}/{repo}/forge/blame/{path:path}", response={200: BlameOut, **errors(404, 409, 422)},
            summary="Blame a file (Forge)")
def forge_blame(request, owner: str, repo: str, path: str, ref: str | None = None, lines: bool = True):
    _, repository = accessible(request, owner, repo)
    path = path.strip("/")
    with repository_store(repository) as store:
        if store.is_empty():
            raise ApiError(409, EMPTY)
        ref = ref or repository.default_branch
        commit = resolve_commitish(store, ref)
        if commit is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        if not path or "\0" in path:
            raise ApiError(404, "Not Found")
        try:
            result = blame(store, commit, path)
        except NotFound:
            raise ApiError(404, "Not Found") from None
        except BlameTooLarge as error:
            raise ApiError(422, f"This file cannot be blamed: {error}") from None
        infos = {info.oid: info for info in commit_infos(store, list({r.commit for r in result.ranges}))}
    full = repository.full_name
    commits = {}
    for oid, info in infos.items():
        sha = oid.hex()
        commits[oid] = {
            "sha": sha,
            "url": api_url(request, f"/repos/{full}/commits/{sha}"),
            "html_url": web_url(request, f"/{full}/commit/{sha}"),
            "author": git_actor(info.author_name, info.author_email, info.author_time),
            "committer": git_actor(info.committer_name, info.committer_email, info.committer_time),
            "summary": info.summary,
        }
    return {
        "ref": ref,
        "commit": commit.hex(),
        "path": result.path,
        "ranges": [{"start_line": r.start, "end_line": r.start + r.count - 1, "count": r.count,
                    "orig_path": r.orig_path, "orig_start_line": r.orig_start, "commit": commits[r.commit]}
                   for r in result.ranges],
        "lines": result.lines if lines else None,
    }
