"""Code and commit search over the index of search_index.py (issue 6).

Query syntax (ripgit's):

- `word other`: code lines containing the words as whole words (a file must contain all of them;
  every line containing any of them is shown). Case-insensitive unless `case:yes`.
- `"a phrase"`: the words in order, separated by spaces/tabs, on one line.
- `lit:TEXT`: TEXT (the rest of the query, verbatim, spaces included) as an exact
  substring, as `git grep -F` finds it. A query whose text contains any of `.` `_` `(` `:` is a
  literal as a whole too (e.g. `foo_bar(`); filters are taken out first, and a single pair of
  surrounding double quotes is dropped.
- `@path:dir/`: only paths starting with that prefix; `@ext:py`: only files ending in `.py`.
- `@author:NAME` and `@message:WORD` (or `@message:"several words"`, `@author:"Ada Lovelace"`) search
  commits instead of code (author name and email, the last word matching as a prefix; message words
  as a phrase, whole words, case-insensitive); the query's other words must then be in the message.
  Results are newest first (committer time).
- `case:yes` / `case:no`: case-sensitive or not (default not). Case folding is ASCII-only, as
  `git grep -i` does it bytewise.

Everything else is text: FTS5 syntax (quotes, NEAR, `*`, `-`, `col:`) is never passed through;
the MATCH expressions are built here from quoted tokens.

Literals and words of 3 characters or more narrow the files through the trigram index, then every
candidate's text is checked exactly (so results equal `git grep -F`'s). A query with nothing of 3
characters checks every indexed file (as git grep does).
"""
import re
from dataclasses import dataclass, field

from .search_index import _extension, has_schema

LITERAL_TRIGGERS = frozenset("._(:")
MAX_LINES_PER_FILE = 20
MAX_TRIGRAMS = 16
MAX_SCAN_BYTES = 256 << 20   # the most candidate text one query reads once its page is full
SCAN_BELOW_BYTES = 512 << 10  # a filter leaving less text than this is scanned without the trigram index
FILTERS = ("@path:", "@ext:", "@author:", "@message:", "case:")


@dataclass
class Query:
    kind: str = "code"            # "code" or "commits"
    terms: list = field(default_factory=list)
    phrases: list = field(default_factory=list)
    literal: str | None = None
    path_prefix: str | None = None
    ext: str | None = None
    author: str | None = None
    message: str | None = None
    case_sensitive: bool = False
    text: str = ""

    @property
    def empty(self):
        if self.kind == "commits":
            return not (self.author or self.message or self.terms or self.phrases or self.literal)
        return not (self.terms or self.phrases or self.literal)


@dataclass
class LineHit:
    number: int
    text: str
    spans: list


@dataclass
class FileHit:
    path: str
    lines: list
    more_lines: int = 0
    total_lines: int = 0


@dataclass
class CodeResults:
    total_files: int
    total_lines: int
    files: list
    skipped_note: str | None = None
    page: int = 1
    per_page: int = 20
    exact: bool = True   # False: the scan stopped at max_scan_bytes; the totals are lower bounds

    @property
    def pages(self):
        return max(1, -(-self.total_files // self.per_page))


@dataclass
class CommitHit:
    oid: bytes
    summary: str
    author_name: str
    author_email: str
    time: int
    excerpt: str
    spans: list


@dataclass
class CommitResults:
    total: int
    hits: list
    page: int = 1
    per_page: int = 20


# -- parsing ---------------------------------------------------------------------------------------
_TOKEN = re.compile(r'\s*(?:([^\s"]*)"([^"]*)"?|(\S+))')


def parse_query(text):
    text = (text or "").replace("\r", " ").replace("\n", " ")
    q = Query(text=text)
    rest = []          # the raw pieces that are not filters, in order
    spans = []         # and where they are in `text`
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        raw = m.group(0).strip()
        head, quoted, bare = m.group(1), m.group(2), m.group(3)
        pos = m.end()
        if not raw:
            continue
        word = bare if bare is not None else head
        if word.startswith("lit:") and (bare is not None or head.startswith("lit:")):
            q.literal = text[m.start() + m.group(0).index("lit:") + 4:] or None
            rest = []
            break
        value = quoted if bare is None else None
        lowered = word.lower()
        for name in FILTERS:
            if lowered.startswith(name):
                if value is None:
                    value = word[len(name):]
                _apply_filter(q, name, value)
                break
        else:
            rest.append((raw, quoted if bare is None and not head else None))
            spans.append((m.start() + len(m.group(0)) - len(m.group(0).lstrip()), m.end()))
    if q.literal is None and rest:
        # The literal keeps the text's own spacing when no filter sits between its pieces.
        contiguous = all(spans[i][1] == spans[i + 1][0] or not text[spans[i][1]:spans[i + 1][0]].strip()
                         for i in range(len(spans) - 1))
        joined = text[spans[0][0]:spans[-1][1]] if contiguous else " ".join(raw for raw, _ in rest)
        if len(rest) == 1 and rest[0][1] is not None:
            inner = rest[0][1]
        else:
            inner = None
        if any(ch in LITERAL_TRIGGERS for ch in joined):
            q.literal = inner if inner is not None else joined
        else:
            for raw, quoted in rest:
                if quoted is not None:
                    if quoted.split():
                        q.phrases.append(" ".join(quoted.split()))
                else:
                    word = raw.strip('"')
                    if word:
                        q.terms.append(word)
    if q.author is not None or q.message is not None:
        q.kind = "commits"
    return q


def _apply_filter(q, name, value):
    value = value.strip()
    if name == "@path:":
        q.path_prefix = value.lstrip("/") or None
    elif name == "@ext:":
        q.ext = value.lstrip(".").lower() or None
    elif name == "@author:":
        q.author = value or None
    elif name == "@message:":
        q.message = value or None
    elif name == "case:":
        q.case_sensitive = value.lower() in ("yes", "y", "1", "true", "on", "sensitive")


# -- code search -----------------------------------------------------------------------------------
def _trigram_match(strings):
    """An FTS5 expression ANDing quoted trigrams of `strings` (those of 3+ characters), or None.
    FTS5 folds their case as it folded the indexed text's."""
    grams = []
    for s in strings:
        if len(s) < 3:
            continue
        # Trigrams holding a NUL or U+FFFD are never asked for (fts_text replaces NULs, and invalid
        # UTF-8 in a file decodes to U+FFFD while git compares its bytes).
        own = list(dict.fromkeys(g for g in (s[i:i + 3] for i in range(len(s) - 2))
                                 if "\0" not in g and "\ufffd" not in g))
        if len(own) > MAX_TRIGRAMS:  # any subset still narrows correctly; spread the picks
            step = len(own) / MAX_TRIGRAMS
            own = [own[int(i * step)] for i in range(MAX_TRIGRAMS)] + [own[-1]]
        grams.extend(own)
    grams = list(dict.fromkeys(grams))
    if not grams:
        return None
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


_WORD_CLASS = rb"[0-9A-Za-z_]"   # git grep -w's word characters (bytewise)


def _whole_words(words):
    """A bytes regex for `words` in order, separated by spaces/tabs, as whole words. The first word
    leads the pattern (so `re` can use its fast literal-prefix search) and the boundary before it is
    a lookbehind placed after it."""
    first = re.escape(words[0])
    pattern = first + rb"(?<!" + _WORD_CLASS + first + rb")"
    for word in words[1:]:
        pattern += rb"[ \t]+" + re.escape(word)
    return pattern + rb"(?!" + _WORD_CLASS + rb")"


class _Matcher:
    """How a code query matches a file's bytes. Case-insensitive queries match the ASCII-lowered
    bytes (bytes.lower() folds ASCII only, and keeps every offset), as git grep -i does."""

    def __init__(self, q):
        self.fold = not q.case_sensitive
        enc = (lambda t: t.encode("utf-8", "surrogateescape").lower()) if self.fold else \
            (lambda t: t.encode("utf-8", "surrogateescape"))
        if q.literal is not None:
            self.needles = [q.literal]
            parts = [re.escape(enc(q.literal))]
        else:
            self.needles = list(q.terms) + [w for p in q.phrases for w in p.split()]
            parts = [_whole_words([enc(t)]) for t in q.terms]
            parts += [_whole_words([enc(w) for w in p.split()]) for p in q.phrases]
        self.required = [re.compile(p) for p in parts]
        self.any = re.compile(parts[0] if len(parts) == 1 else b"|".join(b"(?:" + p + b")" for p in parts))
        # One match per line: the match, then the rest of its line, so the next search starts on the next line.
        self.per_line = re.compile(b"(?:" + self.any.pattern + rb")[^\n]*")

    def haystack(self, content):
        return content.lower() if self.fold else content

    def count_lines(self, hay):
        """Lines matching, 0 if the file does not match (every required part must occur)."""
        if len(self.required) > 1 and not all(r.search(hay) for r in self.required):
            return 0
        return len(self.per_line.findall(hay))


def _prefix_range(prefix):
    """[low, high) of byte strings starting with `prefix`; high None: unbounded."""
    low = prefix
    high = bytearray(prefix)
    while high and high[-1] == 0xFF:
        high.pop()
    if not high:
        return low, None
    high[-1] += 1
    return low, bytes(high)


def _filters_sql(q):
    where, args = [], []
    if q.path_prefix:
        low, high = _prefix_range(q.path_prefix.encode("utf-8", "surrogateescape"))
        where.append("f.path >= ?")
        args.append(low)
        if high is not None:
            where.append("f.path < ?")
            args.append(high)
    if q.ext:
        where.append("f.ext = ?")
        args.append(q.ext)
    return where, args


def _without_ext(q):
    return Query(path_prefix=q.path_prefix)


def _decode_path(path):
    return path.decode("utf-8", "replace")


def search_code(store, query, *, page=1, per_page=20, max_lines=MAX_LINES_PER_FILE,
                max_scan_bytes=MAX_SCAN_BYTES):
    """Files whose text matches `query`, sorted by path, page `page` (1-based) of `per_page` files,
    each with up to `max_lines` matching lines. Totals count every match, unless more than
    `max_scan_bytes` of candidate text had to be read: then the scan stops once the page is full
    and `exact` is False."""
    con = store.con
    page = max(1, int(page))
    if query.empty or query.kind != "code" or not has_schema(con):
        return CodeResults(0, 0, [], None, page, per_page)
    matcher = _Matcher(query)
    where, args = _filters_sql(query)
    match = _trigram_match(matcher.needles)
    if match is not None and where and _filtered_bytes(con, where, args) <= SCAN_BELOW_BYTES:
        match = None  # a few files under the filter: reading them beats the trigram lookup
    if match is not None:
        where.insert(0, "f.blob_id IN (SELECT rowid FROM search_trigram WHERE search_trigram MATCH ?)")
        args.insert(0, match)
    sql = ("SELECT f.path, b.content FROM search_files f JOIN search_blobs b ON b.id = f.blob_id"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY f.path")
    first, last = (page - 1) * per_page, page * per_page
    total_files = total_lines = scanned = 0
    exact = True
    files = []
    for path, content in con.execute(sql, args):
        scanned += len(content)
        if scanned > max_scan_bytes and total_files >= last:
            exact = False
            break
        hay = matcher.haystack(content)
        count = matcher.count_lines(hay)
        if not count:
            continue
        if first <= total_files < last:
            files.append(_file_hit(_decode_path(path), content, hay, matcher.any, count, max_lines))
        total_files += 1
        total_lines += count
    return CodeResults(total_files, total_lines, files, _skipped_note(con, query), page, per_page, exact)


def _filtered_bytes(con, where, args):
    return con.execute("SELECT coalesce(sum(length(b.content)), 0) FROM search_files f JOIN search_blobs b"
                       " ON b.id = f.blob_id WHERE " + " AND ".join(where), args).fetchone()[0]


def _decode(raw):
    return raw.decode("utf-8", "replace")


def _file_hit(path, content, hay, pattern, count, max_lines):
    """Up to `max_lines` numbered lines of `content` with the spans (in characters) of every match,
    found in `hay` (the same bytes, maybe case-folded)."""
    lines = []
    line_no, scanned = 1, 0
    current = line_start = line_end = raw = ascii_line = None
    for m in pattern.finditer(hay):
        start, end = m.span()
        if current is None or start >= line_end:
            if len(lines) == max_lines:
                break
            line_no += hay.count(b"\n", scanned, start)
            line_start = hay.rfind(b"\n", 0, start) + 1
            line_end = hay.find(b"\n", start)
            if line_end < 0:
                line_end = len(hay)
            scanned = line_start
            raw = content[line_start:line_end]
            ascii_line = raw.isascii()  # then byte offsets are character offsets
            current = LineHit(line_no, _decode(raw), [])
            lines.append(current)
        if ascii_line:
            current.spans.append((start - line_start, end - line_start))
        else:
            a = len(_decode(raw[:start - line_start]))
            current.spans.append((a, a + len(_decode(raw[start - line_start:end - line_start]))))
    return FileHit(path, lines, count - len(lines), count)


def _skipped_note(con, q):
    where, args = _filters_sql(_without_ext(q))
    sql = "SELECT f.path, f.reason FROM search_skipped f" + (" WHERE " + " AND ".join(where) if where else "")
    counts = {}
    for path, reason in con.execute(sql, args):
        if q.ext and _extension(path) != q.ext:
            continue
        counts[reason] = counts.get(reason, 0) + 1
    parts = []
    if counts.get("binary"):
        n = counts["binary"]
        parts.append(f"{n} binary file{'s' if n != 1 else ''}")
    if counts.get("large"):
        n = counts["large"]
        parts.append(f"{n} file{'s' if n != 1 else ''} over 1 MiB")
    if not parts:
        return None
    return " and ".join(parts) + " not searched (not indexed)."


# -- commit search ---------------------------------------------------------------------------------
_FTS_WORD = re.compile(r"[^\W_]+")


def _words(text):
    return _FTS_WORD.findall(text or "")


def _phrase(words, prefix=False):
    return '"' + " ".join(words) + '"' + (" *" if prefix else "")


def _commit_match(q):
    """An FTS5 expression over search_commit_text built from quoted words only, or None."""
    parts = []
    if q.author:
        words = _words(q.author)
        if words:
            parts.append("author : " + _phrase(words, prefix=True))
    message_phrases = []
    if q.message:
        message_phrases.append(_words(q.message))
    message_phrases += [[t] for t in q.terms] + [_words(p) for p in q.phrases]
    if q.literal:
        message_phrases.append(_words(q.literal))
    for words in message_phrases:
        words = [x for w in words for x in _words(w)]
        if words:
            parts.append("message : " + _phrase(words))
    return " AND ".join(parts) if parts else None


def search_commits(store, query, *, page=1, per_page=20):
    """Commits whose message/author match, newest first (committer time)."""
    con = store.con
    page = max(1, int(page))
    match = _commit_match(query)
    if match is None or not has_schema(con):
        return CommitResults(0, [], page, per_page)
    base = (" FROM search_commit_text t JOIN search_commits s ON s.id = t.rowid"
            " JOIN commits c ON c.oid = s.oid WHERE search_commit_text MATCH ?")
    total = con.execute("SELECT count(*)" + base, (match,)).fetchone()[0]
    rows = con.execute("SELECT c.oid, c.message, c.author_name, c.author_email, c.author_time" + base
                       + " ORDER BY c.committer_time DESC, c.oid LIMIT ? OFFSET ?",
                       (match, per_page, (page - 1) * per_page)).fetchall()
    words = [w for p in ([query.message] + query.terms + query.phrases + [query.literal]) if p for w in _words(p)]
    hits = []
    for oid, message, name, email, when in rows:
        summary = message.split("\n", 1)[0]
        excerpt, spans = _excerpt(message, words)
        hits.append(CommitHit(oid, summary, name, email, when, excerpt, spans))
    return CommitResults(total, hits, page, per_page)


def _excerpt(message, words, width=200):
    """The first message line holding one of `words` (else the summary), with their spans."""
    lines = message.split("\n")
    if words:
        pattern = re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(w) for w in words) + r")(?![^\W_])",
                             re.IGNORECASE)
        for line in lines:
            if pattern.search(line):
                text = line[:width]
                return text, [m.span() for m in pattern.finditer(text)]
    return (lines[0] if lines else "")[:width], []
