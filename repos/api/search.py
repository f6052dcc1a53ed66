"""GitHub's search API: /search/code and /search/commits, over Forge's per-repository search index
(repos.store.search: the trigram index of the default branch's files, the FTS5 index of commit
messages) and its commits table.

GitHub's query syntax is mapped onto Forge's:
- Which repositories: `repo:OWNER/NAME` (several allowed), `user:NAME` / `org:NAME` (that owner's
  repositories), `is:public` / `is:private`; none of them: every repository the caller may read.
  Only repositories the caller may READ are ever searched (accounts.access), so a private
  repository shows in nothing, totals included. A repository named but not readable (or not there)
  is simply not searched (GitHub answers 422 when NO named repository can be searched).
  At most MAX_REPOSITORIES are searched per query (the most recently pushed); beyond that
  `incomplete_results` is true.
- Code: the remaining text is Forge's code query (words as whole words, all in one file; "a phrase";
  text with . _ ( : is an exact substring), `path:DIR` (a path prefix), `extension:EXT`,
  `language:NAME` (through LANGUAGE_EXTENSIONS). `in:file` is the only kind of match there is.
  `filename:`, `size:` and negated qualifiers are refused with 422 rather than silently ignored.
- Commits: the remaining words must be in the message (FTS5); `author:LOGIN` / `committer:LOGIN`
  (commits whose e-mail is that account's), `author-name:`, `committer-name:` (substring, case
  folded), `author-email:`, `committer-email:`, `author-date:` / `committer-date:` (YYYY-MM-DD or
  an ISO time, with >, >=, <, <=, or A..B with * for open ends), `merge:true|false`, `hash:`,
  `parent:`, `tree:`. Every commit the store holds is searched, not only the default branch's.
- Like GitHub, only the first MAX_RESULTS results can be paged to; `total_count` counts them all.
  Results are ordered by repository then path (code) or by date (commits); `score` is always 1.0.
The index is caught up to the default branch's tip before answering (as the web search page does),
so a search right after a push sees it; a query over many repositories spends at most
CATCH_UP_SECONDS on that and says incomplete_results for the rest.
"""
import heapq
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from django.http import HttpResponse
from ninja import Router, Schema

from accounts.access import READ, AccessError, access_repo, readable_filter
from accounts.api import UserOut, user_json
from accounts.selectors import get_user
from forge.api import Page, api_actor, api_url, errors, invalid, web_url
from repos import search as searching
from repos.api.common import repository_store
from repos.api.serializers import CommitOut, commit_json, users_by_email
from repos.models import Repository
from repos.store import search as index
from repos.store.history import commit_infos
from repos.store.search_index import has_schema

router = Router(tags=["search"])

MAX_REPOSITORIES = 50   # repositories searched by one query (the most recently pushed first)
# A repository whose index is behind its branch is caught up before it is searched, but one query
# spends at most this long doing so for repositories after the first: the rest are searched as
# indexed (their background indexing after the push is under way) and incomplete_results is true.
CATCH_UP_SECONDS = 3.0
MAX_RESULTS = 1000      # as GitHub: results past the first thousand cannot be paged to
FRAGMENT_LINES = 5      # matching lines shown in a text match's fragment
FRAGMENT_LINE_CHARS = 400
TEXT_MATCH_MEDIA = "text-match"

LANGUAGE_EXTENSIONS = {
    "python": "py", "javascript": "js", "typescript": "ts", "go": "go", "rust": "rs", "java": "java",
    "kotlin": "kt", "scala": "scala", "c": "c", "c++": "cpp", "cpp": "cpp", "c#": "cs", "csharp": "cs",
    "ruby": "rb", "php": "php", "perl": "pl", "lua": "lua", "haskell": "hs", "swift": "swift", "r": "r",
    "shell": "sh", "bash": "sh", "html": "html", "css": "css", "scss": "scss", "json": "json",
    "yaml": "yml", "toml": "toml", "xml": "xml", "sql": "sql", "markdown": "md", "text": "txt",
    "restructuredtext": "rst", "dockerfile": "dockerfile", "elixir": "ex", "erlang": "erl", "zig": "zig",
    "dart": "dart", "objective-c": "m", "clojure": "clj", "ocaml": "ml", "vue": "vue", "svelte": "svelte",
}

REPOSITORY_QUALIFIERS = {"repo", "user", "org", "is"}
CODE_QUALIFIERS = REPOSITORY_QUALIFIERS | {"path", "language", "extension", "in", "filename", "size", "fork"}
COMMIT_QUALIFIERS = REPOSITORY_QUALIFIERS | {
    "author", "committer", "author-name", "committer-name", "author-email", "committer-email",
    "author-date", "committer-date", "merge", "hash", "parent", "tree"}


# --- schemas -------------------------------------------------------------------------------------------

class MinimalRepositoryOut(Schema):
    id: int
    node_id: str
    name: str
    full_name: str
    private: bool
    owner: UserOut
    html_url: str
    url: str
    description: str | None
    fork: bool


class TextMatchSpanOut(Schema):
    text: str
    indices: list[int]


class TextMatchOut(Schema):
    object_url: str
    object_type: str
    property: str
    fragment: str
    matches: list[TextMatchSpanOut]


class CodeItemOut(Schema):
    name: str
    path: str
    sha: str
    url: str
    git_url: str
    html_url: str
    repository: MinimalRepositoryOut
    score: float
    text_matches: list[TextMatchOut] | None = None


class CodeSearchOut(Schema):
    total_count: int
    incomplete_results: bool
    items: list[CodeItemOut]


class CommitItemOut(CommitOut):
    repository: MinimalRepositoryOut
    score: float


class CommitSearchOut(Schema):
    total_count: int
    incomplete_results: bool
    items: list[CommitItemOut]


# --- GitHub's query syntax -----------------------------------------------------------------------------

_PIECE = re.compile(r'\s*(?:(?P<neg>-?)(?P<name>[A-Za-z][A-Za-z-]*):(?:"(?P<quoted>[^"]*)"?|(?P<value>\S*))'
                    r'|(?P<text>"[^"]*"?|\S+))')


@dataclass
class GithubQuery:
    qualifiers: list = field(default_factory=list)   # (name lowered, value)
    text: list = field(default_factory=list)         # the other pieces, as written

    def values(self, name):
        return [value for qualifier, value in self.qualifiers if qualifier == name]

    def last(self, name):
        found = self.values(name)
        return found[-1] if found else None

    @property
    def text_query(self):
        return " ".join(self.text)


def parse_github_query(q: str, known: set) -> GithubQuery:
    """Split GitHub's q into the qualifiers of `known` and the rest (kept as written). A `name:value`
    whose name is not a qualifier of this search is text (code search looks for `a:b` as written)."""
    parsed = GithubQuery()
    position = 0
    while position < len(q):
        match = _PIECE.match(q, position)
        if match is None or match.end() == position:
            break
        position = match.end()
        name = (match.group("name") or "").lower()
        if name and name in known:
            if match.group("neg"):
                raise invalid(f"excluding with -{name}: is not supported", resource="Search", field="q")
            value = match.group("quoted") if match.group("quoted") is not None else match.group("value")
            parsed.qualifiers.append((name, value.strip()))
        elif match.group(0).strip():
            parsed.text.append(match.group(0).strip())
    return parsed


def _required_q(q: str | None) -> str:
    if q is None or not q.strip():
        raise invalid("q is missing", resource="Search", field="q", code="missing")
    if len(q) > 256:  # GitHub's limit on a query's length
        raise invalid("The search is longer than 256 characters.", resource="Search", field="q")
    return q


def _window(page: Page) -> tuple[int, int]:
    """[start, end) of the results this page shows, within the first MAX_RESULTS."""
    if page.offset >= MAX_RESULTS:
        raise invalid(f"Only the first {MAX_RESULTS} search results are available", resource="Search", field="page")
    return page.offset, min(page.offset + page.size, MAX_RESULTS)


# --- which repositories ----------------------------------------------------------------------------------

def searched_repositories(actor, query: GithubQuery) -> tuple[list, bool]:
    """(repositories to search, sorted by full name; whether some were left out by the cap). Only
    what `actor` may read; repo:, user:/org: and is: narrow that."""
    readable = Repository.objects.filter(readable_filter(actor)).select_related("owner")
    named = query.values("repo")
    owners = [o.lower() for o in query.values("user") + query.values("org") if o]
    if named or owners:
        chosen = {}
        for full_name in named:
            owner, _, name = full_name.partition("/")
            if not owner or not name:
                continue
            try:
                repo = access_repo(actor, owner, name, READ)
            except AccessError:
                continue
            chosen[repo.pk] = repo
        if owners:
            for repo in readable.filter(owner__username__iregex=_any_of(owners)):
                chosen[repo.pk] = repo
        candidates = list(chosen.values())
    else:
        candidates = None
    visibility = {v.lower() for v in query.values("is")}
    if candidates is None:
        if visibility == {"public"}:
            readable = readable.filter(is_private=False)
        elif visibility == {"private"}:
            readable = readable.filter(is_private=True)
        total = readable.count()
        candidates = list(readable.order_by("-pushed_at", "-pk")[:MAX_REPOSITORIES])
        truncated = total > MAX_REPOSITORIES
    else:
        if visibility == {"public"}:
            candidates = [r for r in candidates if not r.is_private]
        elif visibility == {"private"}:
            candidates = [r for r in candidates if r.is_private]
        truncated = len(candidates) > MAX_REPOSITORIES
        candidates.sort(key=lambda r: r.pushed_at.timestamp() if r.pushed_at else 0, reverse=True)
        candidates = candidates[:MAX_REPOSITORIES]
    candidates.sort(key=lambda r: r.full_name.lower())
    return candidates, truncated


def _any_of(names):
    return "^(" + "|".join(re.escape(n) for n in names) + ")$"


def minimal_repository_json(request, repo) -> dict:
    return {
        "id": repo.pk, "node_id": f"R_{repo.pk}", "name": repo.name, "full_name": repo.full_name,
        "private": repo.is_private, "owner": user_json(request, repo.owner),
        "html_url": web_url(request, f"/{repo.full_name}"), "url": api_url(request, f"/repos/{repo.full_name}"),
        "description": repo.description or None, "fork": False,
    }


def _wants_text_matches(request) -> bool:
    return TEXT_MATCH_MEDIA in request.headers.get("Accept", "")


# --- code search -----------------------------------------------------------------------------------------

def forge_code_query(query: GithubQuery):
    """Forge's Query for GitHub's code qualifiers and text; 422 for what Forge cannot do."""
    for unsupported in ("filename", "size"):
        if query.values(unsupported):
            raise invalid(f"the {unsupported}: qualifier is not supported", resource="Search", field="q")
    text = query.text_query
    if not text.strip():
        raise invalid("the query has no text to search for", resource="Search", field="q")
    forge = index.parse_query(text)
    forge.kind, forge.author, forge.message = "code", None, None
    path = query.last("path")
    if path:
        forge.path_prefix = path.strip("/") or None
    extension = query.last("extension")
    language = query.last("language")
    if language:
        mapped = LANGUAGE_EXTENSIONS.get(language.lower())
        if mapped is None:
            raise invalid(f"unknown language {language!r}", resource="Search", field="q")
        if extension and extension.lstrip(".").lower() != mapped:
            extension = "\0"  # both given and different: nothing can match
        else:
            extension = mapped
    if extension:
        forge.ext = extension.lstrip(".").lower()
    return forge


@router.get("/search/code", response={200: CodeSearchOut, **errors(422)}, exclude_unset=True,
            summary="Search code",
            description="GitHub's code search over the default branch of every repository the caller may "
                        f"read (at most {MAX_REPOSITORIES} per query, the most recently pushed; "
                        "incomplete_results says when more were left out). Qualifiers: repo:, user:, org:, "
                        "is:public|private, path: (a prefix), extension:, language:. Text matches with "
                        "Accept: application/vnd.github.text-match+json.")
def search_code(request, response: HttpResponse, q: str | None = None, sort: str | None = None,
                order: str | None = None, page: int = 1, per_page: int = 30):
    query = parse_github_query(_required_q(q), CODE_QUALIFIERS)
    forge = forge_code_query(query)
    paging = Page(page, per_page)
    window_start, window_end = _window(paging)
    repos, incomplete = searched_repositories(api_actor(request), query)
    want_matches = _wants_text_matches(request)
    total, items = 0, []
    catching_up = CatchUp()
    for repo in repos:
        wanted = max(0, window_end - total)
        with repository_store(repo) as store:
            incomplete = not catching_up.bring_up_to_date(repo, store) or incomplete
            found = _search_repository_code(store, forge, wanted)
            if found is None:
                continue
            results, commit, oids = found
            local_start = max(0, window_start - total)
            for hit in results.files[local_start:wanted]:
                items.append(_code_item(request, repo, commit, hit, oids.get(hit.path), want_matches))
        total += results.total_files
        incomplete = incomplete or not results.exact
    last = max(1, -(-min(total, MAX_RESULTS) // paging.size))
    paging.link(request, response, has_next=paging.number < last, last=last)
    return {"total_count": total, "incomplete_results": incomplete, "items": items}


class CatchUp:
    """Catches repositories' indexes up, the first always, the others within CATCH_UP_SECONDS."""

    def __init__(self):
        self.deadline = None

    def bring_up_to_date(self, repo, store) -> bool:
        """True if the index is now current; False if it was left behind for lack of time."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            return not index.needs_sync(store, f"refs/heads/{repo.default_branch}")
        started = time.monotonic()
        searching.bring_up_to_date(repo, store)
        if self.deadline is None:
            self.deadline = started + CATCH_UP_SECONDS
        return True


def _search_repository_code(store, forge, wanted):
    """(CodeResults with the first `wanted` files, the indexed commit, {path: blob oid}) or None for a
    repository with nothing indexed. The reads share one snapshot."""
    if not has_schema(store.con):
        return None
    store.con.execute("BEGIN")
    try:
        commit = index.indexed_commit(store)
        if commit is None:
            return None
        results = index.search_code(store, forge, page=1, per_page=wanted, max_lines=FRAGMENT_LINES)
        oids = _blob_oids(store, [hit.path for hit in results.files])
    finally:
        store.con.execute("COMMIT")
    return results, commit, oids


def _blob_oids(store, paths):
    oids = {}
    for path in paths:
        row = store.con.execute("SELECT b.oid FROM search_files f JOIN search_blobs b ON b.id = f.blob_id"
                                " WHERE f.path = ?", (path.encode("utf-8", "surrogateescape"),)).fetchone()
        if row:
            oids[path] = row[0]
    return oids


def _code_item(request, repo, commit, hit, blob, want_matches):
    at = commit.hex()
    quoted = quote(hit.path)
    contents_url = api_url(request, f"/repos/{repo.full_name}/contents/{quoted}") + f"?ref={at}"
    sha = blob.hex() if blob else ""
    item = {
        "name": hit.path.rsplit("/", 1)[-1], "path": hit.path, "sha": sha, "url": contents_url,
        "git_url": api_url(request, f"/repos/{repo.full_name}/git/blobs/{sha}"),
        "html_url": web_url(request, f"/{repo.full_name}/blob/{at}/{quoted}"),
        "repository": minimal_repository_json(request, repo), "score": 1.0,
    }
    if want_matches:
        item["text_matches"] = [_text_match(contents_url, hit)]
    return item


def _text_match(object_url, hit) -> dict:
    """GitHub's text match: a fragment (the matching lines, long ones cut around their first match)
    and where the matches are in it (character offsets)."""
    fragment, matches = "", []
    for line in hit.lines[:FRAGMENT_LINES]:
        text, spans = line.text, list(line.spans)
        if len(text) > FRAGMENT_LINE_CHARS:
            start = max(0, (spans[0][0] if spans else 0) - FRAGMENT_LINE_CHARS // 4)
            end = start + FRAGMENT_LINE_CHARS
            spans = [(a - start, b - start) for a, b in spans if a >= start and b <= end]
            text = text[start:end]
        if fragment:
            fragment += "\n"
        base = len(fragment)
        fragment += text
        for a, b in spans:
            matches.append({"text": text[a:b], "indices": [base + a, base + b]})
    return {"object_url": object_url, "object_type": "FileContent", "property": "content", "fragment": fragment,
            "matches": matches}


# --- commit search ---------------------------------------------------------------------------------------

SORT_COLUMNS = {"author-date": "author_time", "committer-date": "committer_time"}
_WORD = re.compile(r"[^\W_]+")


@dataclass
class CommitFilter:
    """SQL over the store's commits table (alias c), and the FTS5 expression for the message."""
    where: list = field(default_factory=list)
    args: list = field(default_factory=list)
    match: str | None = None
    impossible: bool = False

    def add(self, sql, *args):
        self.where.append(sql)
        self.args.extend(args)


def commit_filter(query: GithubQuery) -> CommitFilter:
    found = CommitFilter()
    phrases = [_WORD.findall(piece) for piece in query.text]
    if query.text and not any(phrases):
        found.impossible = True  # text with no word in it matches no message
    phrases = [words for words in phrases if words]
    if phrases:
        found.match = " AND ".join('message : "' + " ".join(words) + '"' for words in phrases)
    for role in ("author", "committer"):
        for login in query.values(role):
            user = get_user(login) if login else None
            if user is None or not user.email:
                found.impossible = True
            else:
                found.add(f"lower(c.{role}_email) = lower(?)", user.email)
        for name in query.values(f"{role}-name"):
            found.add(f"instr(lower(c.{role}_name), lower(?)) > 0", name)
        for email in query.values(f"{role}-email"):
            found.add(f"lower(c.{role}_email) = lower(?)", email)
        for value in query.values(f"{role}-date"):
            low, high = date_range(value, f"{role}-date")
            if low is not None:
                found.add(f"c.{role}_time >= ?", low)
            if high is not None:
                found.add(f"c.{role}_time < ?", high)
    for value in query.values("merge"):
        if value.lower() not in ("true", "false"):
            raise invalid("merge: takes true or false", resource="Search", field="q")
        found.add("length(c.parents) > 20" if value.lower() == "true" else "length(c.parents) <= 20")
    for value in query.values("hash"):
        low, high = _oid_range(value, "hash")
        found.add("c.oid BETWEEN ? AND ?", low, high)
    for value in query.values("tree"):
        low, high = _oid_range(value, "tree")
        found.add("c.tree BETWEEN ? AND ?", low, high)
    for value in query.values("parent"):
        if len(value) != 40:
            raise invalid("parent: takes a full 40-character sha", resource="Search", field="q")
        low, _ = _oid_range(value, "parent")
        found.add("instr(c.parents, ?) % 20 = 1", low)
    return found


def _oid_range(text, what):
    text = text.lower()
    if not 4 <= len(text) <= 40 or not re.fullmatch(r"[0-9a-f]+", text):
        raise invalid(f"{what}: takes 4 to 40 hexadecimal digits", resource="Search", field="q")
    return bytes.fromhex(text.ljust(40, "0")), bytes.fromhex(text.ljust(40, "f"))


def _moment(text, what):
    """(start, end) seconds of a day (YYYY-MM-DD, UTC) or of a second (an ISO time)."""
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            return int(day.timestamp()), int((day + timedelta(days=1)).timestamp())
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{what}: {text!r} is not a date", resource="Search", field="q") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = int(moment.timestamp())
    return seconds, seconds + 1


def date_range(value, what):
    """[low, high) in seconds for GitHub's date syntax (>D, >=D, <D, <=D, A..B, D); None: open."""
    for operator in (">=", "<=", ">", "<"):
        if value.startswith(operator):
            start, end = _moment(value[len(operator):], what)
            return {">=": (start, None), ">": (end, None), "<=": (None, end), "<": (None, start)}[operator]
    if ".." in value:
        first, _, second = value.partition("..")
        low = None if first == "*" else _moment(first, what)[0]
        high = None if second == "*" else _moment(second, what)[1]
        return low, high
    return _moment(value, what)


def _commit_rows(store, found: CommitFilter, sort_column, descending, limit):
    """(count, [(sort key, oid)] of the first `limit`) for one store."""
    sql = " FROM commits c"
    args = []
    where = list(found.where)
    if found.match is not None:
        sql += " JOIN search_commits s ON s.oid = c.oid JOIN search_commit_text t ON t.rowid = s.id"
        where.insert(0, "search_commit_text MATCH ?")
        args.append(found.match)
    args.extend(found.args)
    if where:
        sql += " WHERE " + " AND ".join(where)
    con = store.con
    count = con.execute("SELECT count(*)" + sql, args).fetchone()[0]
    if not limit or not count:
        return count, []
    direction = "DESC" if descending else "ASC"
    # Ties broken by oid ascending either way, as the merge of several repositories breaks them.
    rows = con.execute(f"SELECT c.{sort_column}, c.oid" + sql + f" ORDER BY c.{sort_column} {direction},"
                       " c.oid LIMIT ?", args + [limit]).fetchall()
    return count, rows


@router.get("/search/commits", response={200: CommitSearchOut, **errors(422)}, exclude_unset=True,
            summary="Search commits",
            description="GitHub's commit search over the commits of every repository the caller may read "
                        f"(at most {MAX_REPOSITORIES} per query). Words are matched in messages; qualifiers: "
                        "repo:, user:, org:, is:, author:, committer:, author-name:, committer-name:, "
                        "author-email:, committer-email:, author-date:, committer-date:, merge:, hash:, "
                        "parent:, tree:. Ordered by date (sort=author-date|committer-date, default "
                        "committer-date; order=desc by default).")
def search_commits(request, response: HttpResponse, q: str | None = None, sort: str | None = None,
                   order: str | None = None, page: int = 1, per_page: int = 30):
    query = parse_github_query(_required_q(q), COMMIT_QUALIFIERS)
    if sort is not None and sort not in SORT_COLUMNS:
        raise invalid("sort must be author-date or committer-date", resource="Search", field="sort")
    if order is not None and order not in ("asc", "desc"):
        raise invalid("order must be asc or desc", resource="Search", field="order")
    found = commit_filter(query)
    paging = Page(page, per_page)
    window_start, window_end = _window(paging)
    repos, incomplete = searched_repositories(api_actor(request), query)
    column = SORT_COLUMNS[sort or "committer-date"]
    descending = order != "asc"
    total, ranked = 0, []
    catching_up = CatchUp()
    if not found.impossible:
        for position, repo in enumerate(repos):
            with repository_store(repo) as store:
                if found.match is not None:
                    incomplete = not catching_up.bring_up_to_date(repo, store) or incomplete
                    if not has_schema(store.con):
                        continue
                count, rows = _commit_rows(store, found, column, descending, window_end)
            total += count
            # A key that sorts the newest first when descending, with the repository to break ties.
            ranked.extend(((-key if descending else key), position, oid) for key, oid in rows)
    window = heapq.nsmallest(window_end, ranked)[window_start:]
    items = _commit_items(request, repos, window)
    last = max(1, -(-min(total, MAX_RESULTS) // paging.size))
    paging.link(request, response, has_next=paging.number < last, last=last)
    return {"total_count": total, "incomplete_results": incomplete, "items": items}


def _commit_items(request, repos, window):
    by_repo = {}
    for _key, position, oid in window:
        by_repo.setdefault(position, []).append(oid)
    infos = {}
    for position, oids in by_repo.items():
        with repository_store(repos[position]) as store:
            for info in commit_infos(store, oids):
                infos[(position, info.oid)] = info
    users = users_by_email([e for i in infos.values() for e in (i.author_email, i.committer_email)])
    items = []
    for _key, position, oid in window:
        info = infos.get((position, oid))
        if info is None:
            continue
        repo = repos[position]
        item = commit_json(request, repo, info, users)
        item["repository"] = minimal_repository_json(request, repo)
        item["score"] = 1.0
        items.append(item)
    return items
