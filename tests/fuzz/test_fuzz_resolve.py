"""Fuzzing REF/PATH resolution (repos/store/browse.py) and the pages that use it, on a real
repository with branches whose names hold '/', tags (one named like a branch's first part), a branch
named like a commit id prefix, a symlink, and unicode and space-holding paths.

- Any spec ('..', '%2e', NUL, '//', unicode, very long) resolves to an existing commit and a clean
  path, or raises NotFound; listing, reading and classifying the path then also give an answer or
  NotFound. Never another exception.
- Specs made of a real ref (short, full, or a commit id, full or abbreviated) and a real path, with
  any number of slashes between the parts, resolve to what `git rev-parse REF:PATH` says: the same
  commit, and the same object and mode at the path.
- /OWNER/NAME/tree|blob|raw|blame|commits/<spec> never answer 5xx, through the whole Django stack.
"""
import subprocess
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from repos.store import RepoStore
from repos.store.browse import NotFound, _walk, list_tree, path_kind, read_blob, resolve, resolve_commit
from tests.fuzz.conftest import BRANCHES, NAME, OWNER, TAGS
from tests.fuzz.fuzzing import close_response, count, fuzz_settings, no_hang
from tests.support.gitcli import git_env


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], env=git_env(), capture_output=True, check=True).stdout


@pytest.fixture(scope="module")
def truth(fuzz_git):
    """What git says: {ref spelling: (commit hex, {path: (mode, oid hex)})} for every ref, spelled
    short, in full, and as its commit id (full and abbreviated)."""
    spellings = {}
    for short, full in [(b, f"refs/heads/{b}") for b in BRANCHES] + [(t, f"refs/tags/{t}") for t in TAGS]:
        commit = _git(fuzz_git, "rev-parse", f"{full}^{{commit}}").decode().strip()
        paths = {"": ("40000", _git(fuzz_git, "rev-parse", f"{commit}^{{tree}}").decode().strip())}
        for record in _git(fuzz_git, "ls-tree", "-r", "-t", "-z", commit).split(b"\0"):
            if record:
                meta, path = record.split(b"\t", 1)
                mode, _type, oid = meta.decode().split()
                paths[path.decode("utf-8", "surrogateescape")] = (mode.lstrip("0"), oid)
        for spelling in (short, full, commit, commit[:7], commit[:12]):
            if spelling != "feature":  # the tag `feature` and the branch `feature/deep/x`: see below
                spellings[spelling] = (commit, paths)
    return spellings


@pytest.fixture(scope="module")
def store(fuzz_template):
    with RepoStore.open(fuzz_template) as opened:
        yield opened


PIECES = ["main", "feature", "deep", "x", "release", "1.0", "cafe", "v1.0", "light", "refs", "heads", "tags", "HEAD",
          "src", "app.py", "docs", "guide.md", "README.md", "link", "a", "b", "c", "deep.txt", "dir with space",
          "é ü.txt", "weird%2e.txt", "data.bin", "..", ".", "%2e", "%2e%2e", "%2F", "\0", "/", "//", "///", "~1", "^",
          "@{0}", ":", "?", "#", "\\", "é", "\u202e", "\ufffd", "\udcff", "a" * 300, "0123", "deadbeef", " "]
specs = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=10).map("/".join),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=8).map("".join),
    st.text(max_size=40),
)


def _check_resolved(store, spec, resolved):
    assert store.graph.node(resolved.commit) is not None
    if resolved.ref is not None:
        assert store.reader.peel(store.ref(resolved.ref)) == resolved.commit
    assert not resolved.path.startswith("/") and not resolved.path.endswith("/") and "//" not in resolved.path
    for read in (list_tree, read_blob, path_kind):
        try:
            read(store, resolved.commit, resolved.path)
        except NotFound:
            pass


@fuzz_settings()
@given(spec=specs, hexes=st.integers(0, 40))
@example(spec="main/../../etc/passwd", hexes=0)
@example(spec="main/\0", hexes=0)
@example(spec="feature/deep/x/src/app.py", hexes=0)
@example(spec="/" * 50 + "main", hexes=0)
@example(spec="main/" + "a/" * 2000, hexes=0)
@example(spec="", hexes=12)
@example(spec="\udcff", hexes=0)  # found: a lone surrogate reached SQLite and raised UnicodeEncodeError
def test_any_spec_resolves_or_is_not_found(store, spec, hexes):
    count("resolve: any spec")
    if hexes:  # prefix a piece of a real commit id, which may be abbreviated, ambiguous or wrong
        spec = store.ref("refs/heads/main").hex()[:hexes] + spec
    with no_hang("resolving a spec"):
        try:
            resolved = resolve(store, spec)
        except NotFound:
            return
        _check_resolved(store, spec, resolved)


@fuzz_settings()
@given(data=st.data(), slashes=st.lists(st.integers(1, 3), min_size=12, max_size=12),
       edges=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_real_ref_and_path_resolve_as_git_says(store, truth, data, slashes, edges):
    count("resolve: real ref/path vs git rev-parse")
    spelling = data.draw(st.sampled_from(sorted(truth)), label="ref")
    commit, paths = truth[spelling]
    path = data.draw(st.sampled_from(sorted(paths)), label="path")
    parts = [p for p in spelling.split("/") + path.split("/") if p]
    spec = "/" * edges[0] + "".join(p + "/" * slashes[i % 12] for i, p in enumerate(parts[:-1])) + parts[-1] + \
        "/" * edges[1]
    resolved = resolve(store, spec)
    assert resolved.commit.hex() == commit, (spec, resolved)
    assert resolved.path == path, (spec, resolved)
    mode, oid = _walk(store, resolved.commit, resolved.path)
    assert (format(mode, "o"), oid.hex()) == paths[path], spec


def test_a_branch_wins_over_a_tag_named_like_its_first_part(store, fuzz_git):
    """The tag `feature` and the branch `feature/deep/x`: the longest ref is tried first."""
    count("resolve: longest ref first")
    branch = _git(fuzz_git, "rev-parse", "refs/heads/feature/deep/x").decode().strip()
    assert resolve(store, "feature/deep/x/src").commit.hex() == branch
    assert resolve_commit(store, "feature")[0] == "refs/tags/feature"


PAGES = ["tree", "blob", "raw", "blame", "commits"]


@pytest.fixture
def client(fuzz_site):
    return Client()


@fuzz_settings(short_share=0.5)
@given(page=st.sampled_from(PAGES), spec=specs, safe=st.sampled_from(["/", "/%", "/%.\\"]),
       query=st.sampled_from(["", "?page=2", "?page=x", "?plain=1", "?format=json", "?after=zz"]))
@example(page="blob", spec="main/%2e%2e/%2e%2e/etc/passwd", safe="/%", query="")
@example(page="raw", spec="main/\0", safe="/", query="")
@example(page="tree", spec="feature/deep/x/dir with space", safe="/", query="")
@example(page="commits", spec="main/" + "a/" * 500, safe="/", query="")
@example(page="blame", spec="main/link", safe="/", query="")
def test_the_pages_of_any_spec_never_fail(client, page, spec, safe, query):
    count("resolve: HTTP tree/blob/raw/blame/commits pages")
    url = f"/{OWNER}/{NAME}/{page}/" + quote(spec.encode("utf-8", "surrogateescape"), safe=safe) + query
    with no_hang(f"the {page} page"):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        close_response(response)
    assert response.status_code < 500, url
