"""Fuzzing search queries (repos/store/search_query.py): any text, with FTS5 syntax, filters, quotes,
NULs and unicode mixed in.

- parse_query always gives a Query (the syntax has no errors: everything unknown is text).
- The FTS5 MATCH expressions built from it never make SQLite raise, run against a real index, and
  code and commit search never raise.
- A literal query finds exactly the files `git grep -F -l -I` finds on the indexed branch (the
  oracle), case-insensitively unless `case:yes`.
- The search page (HTML, JSON, suggestions) never answers 5xx, through the whole Django stack.
"""
import shutil
import subprocess

import pytest
from django.test import Client
from hypothesis import assume, example, given
from hypothesis import strategies as st

from repos.store import RepoStore
from repos.store import search as index
from repos.store.search_query import Query, _commit_match, _Matcher, _trigram_match
from tests.fuzz.conftest import NAME, OWNER
from tests.fuzz.fuzzing import count, fuzz_settings, no_hang
from tests.support.gitcli import git_env

PIECES = ["hello", "main", "search_me", "def", "foo_bar(1)", "return", "world", "again", "unicode", "é", "ü",
          "@path:", "@path:src/", "@path:/", "@ext:", "@ext:py", "@ext:.MD", "@author:", "@author:Forge",
          "@author:\"Forge Tester\"", "@message:", "@message:commit", "@message:\"First commit\"", "case:yes",
          "case:no", "lit:", "lit:def ", '"', '""', '"hello world"', '"a', "NEAR(", "NEAR/2", "AND", "OR", "NOT",
          "*", "^", "-", "+", ":", "col:", "message:", "author:", "(", ")", "{", "}", "[", "]", ".", "_", "\\",
          "'", "\0", "\ufffd", "\u200b", "𝔘", " ", "  ", "\t", "\n", "\r", "x" * 300, "%", "%%", "'; DROP TABLE x;--"]
queries = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=10).map("".join),
    st.lists(st.sampled_from(PIECES), max_size=8).map(" ".join),
)


@pytest.fixture(scope="module")
def indexed(fuzz_template, tmp_path_factory):
    """A store of the fuzz repository with its search index built (main's tip and every commit)."""
    path = tmp_path_factory.mktemp("fuzz-search") / "store.sqlite3"
    shutil.copyfile(fuzz_template, path)
    store = RepoStore.open(path)
    index.sync_index(store, "refs/heads/main")
    index.index_commits(store)
    yield store
    store.close()


def _all_files(store, query):
    results = index.search_code(store, query, per_page=10000)
    return results, {hit.path for hit in results.files}


@fuzz_settings()
@given(text=queries)
@example(text='"')
@example(text="lit:")
@example(text="@message:\"\" NEAR(")
@example(text="\0\0\0")
@example(text="case:yes *")
def test_any_query_parses_and_searches_without_an_error(indexed, text):
    count("search: parse and run any query")
    with no_hang("a search"):
        query = index.parse_query(text)
        assert isinstance(query, Query) and query.kind in ("code", "commits")
        assert all(isinstance(t, str) and t for t in query.terms + query.phrases)
        con = indexed.con
        if not query.empty and query.kind == "code":
            match = _trigram_match(_Matcher(query).needles)
            if match is not None:
                con.execute("SELECT count(*) FROM search_trigram WHERE search_trigram MATCH ?", (match,)).fetchone()
        match = _commit_match(query)
        if match is not None:
            con.execute("SELECT count(*) FROM search_commit_text WHERE search_commit_text MATCH ?", (match,)).fetchone()
        if query.kind == "code":
            index.search_code(indexed, query, page=2, per_page=3)
            _all_files(indexed, query)
        else:
            index.search_commits(indexed, query, page=1, per_page=5)


literals = st.one_of(
    st.lists(st.sampled_from(["hello", "main", "def", "foo_bar(", "return", "'", "(", ".", "_", "é", "E", "H",
                              "again", "only on", "deep", "ü", " ", "x", "d", "e", "1", ":", "\\"]),
             min_size=1, max_size=4).map("".join),
    st.text(min_size=1, max_size=6),
).filter(lambda s: not set(s) & set("\0\r\n") and s.strip())  # a query is one line: CR/LF become spaces


@fuzz_settings()
@given(literal=literals, case=st.booleans())
@example(literal="foo_bar(", case=False)
@example(literal="HELLO", case=True)
@example(literal="é", case=False)
def test_a_literal_finds_what_git_grep_finds(indexed, fuzz_git, literal, case):
    # git 2.39's grep -F hands the string to PCRE inside \Q...\E: a literal holding "\E" ends the
    # quoting early and matches what it does not contain (`git grep -F -e 'a\E'` lists files without
    # "a\E"). git is wrong there, so it is no oracle for those.
    assume("\\E" not in literal)
    count("search: literal vs git grep -F")
    query = index.parse_query(("case:yes " if case else "") + "lit:" + literal)
    assert query.literal == literal
    _results, forge = _all_files(indexed, query)
    args = ["git", "-C", str(fuzz_git), "grep", "-l", "-z", "-I", "-F", "--no-color"] + ([] if case else ["-i"])
    grep = subprocess.run(args + ["-e", literal.encode("utf-8", "surrogateescape"), "main"], env=git_env(),
                          capture_output=True, check=False)
    assert grep.returncode in (0, 1), grep.stderr
    git = {name.decode("utf-8", "replace").split(":", 1)[1] for name in grep.stdout.split(b"\0") if name}
    assert forge == git, literal


@pytest.fixture
def client(fuzz_site):
    return Client()


@fuzz_settings(short_share=0.5)
@given(text=queries, shape=st.sampled_from([{}, {"format": "json"}, {"suggest": "1"}, {"page": "2"},
                                            {"page": "x"}, {"page": "99999999999999999999"}]))
@example(text="\0", shape={})
@example(text="@author:\"", shape={"format": "json"})
def test_the_search_page_never_fails(client, text, shape):
    count("search: HTTP search page")
    with no_hang("the search page"):
        response = client.get(f"/{OWNER}/{NAME}/search", {"q": text, **shape})
    assert response.status_code < 500
