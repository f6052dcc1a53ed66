"""Reading a repository for its pages, checked against git: REF/PATH resolution with refs that
contain '/', tree listings with sizes, blobs byte for byte."""
import subprocess

import pytest

from repos.store.browse import NotFound, list_tree, read_blob, resolve, resolve_commit
from tests.repos.store.helpers import mirror
from tests.support.gitcli import out


@pytest.fixture
def repo(store, tmp_path, history):
    mirror(store, tmp_path, history)
    return store


def rev(history, what):
    return bytes.fromhex(out("-C", history, "rev-parse", what).strip())


def test_refs_with_slashes_resolve_longest_first(repo, history):
    branch = next(line.split()[1][len("refs/heads/"):] for line in
                  out("-C", history, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/feature/").splitlines())
    some_file = out("-C", history, "ls-tree", "-r", "--name-only", branch).split()[0]
    resolved = resolve(repo, f"{branch}/{some_file}")
    assert resolved.ref == f"refs/heads/{branch}"
    assert resolved.commit == rev(history, branch)
    assert resolved.path == some_file
    assert resolve(repo, "main").path == ""
    assert resolve(repo, "v1.0").commit == rev(history, "v1.0^{commit}")    # annotated tag, peeled
    assert resolve(repo, "HEAD").commit == rev(history, "HEAD")
    with pytest.raises(NotFound):
        resolve(repo, "no-such-branch/file")


def test_commit_ids_full_and_abbreviated(repo, history):
    full = out("-C", history, "rev-parse", "main~3").strip()
    assert resolve_commit(repo, full) == (None, bytes.fromhex(full))
    assert resolve_commit(repo, full[:9]) == (None, bytes.fromhex(full))
    assert resolve_commit(repo, full[:7])[1] == bytes.fromhex(full)
    with pytest.raises(NotFound):
        resolve_commit(repo, "0" * 40)


def test_tree_listings_match_git_ls_tree(repo, history):
    commit = rev(history, "main")
    directories = [""] + [line.split("\t")[1] for line in out("-C", history, "ls-tree", "-r", "-d", "main").splitlines()][:15]
    for path in directories:
        expected = {}
        for line in out("-C", history, "ls-tree", "-l", f"main:{path}" if path else "main").splitlines():
            meta, name = line.split("\t", 1)
            mode, kind, oid, size = meta.split()
            expected[name] = (int(mode, 8), oid, None if size == "-" else int(size))
        entries = list_tree(repo, commit, path)
        assert {e.name: (e.mode, e.oid.hex(), e.size) for e in entries} == expected
        kinds = [e.is_tree for e in entries]
        assert kinds == sorted(kinds, reverse=True)  # directories first
        assert all(e.path == (f"{path}/{e.name}" if path else e.name) for e in entries)


def test_blobs_read_back_byte_for_byte(repo, history):
    commit = rev(history, "main~2")
    for path in out("-C", history, "ls-tree", "-r", "--name-only", "main~2").split()[:40]:
        entry, data = read_blob(repo, commit, path)
        assert data == _git_bytes(history, f"main~2:{path}")
        assert entry.size == len(data) and entry.path == path
    with pytest.raises(NotFound):
        read_blob(repo, commit, "no/such/file")
    first_dir = out("-C", history, "ls-tree", "-d", "--name-only", "main~2").split()[0]
    with pytest.raises(NotFound):
        read_blob(repo, commit, first_dir)


def _git_bytes(repo, spec):
    return subprocess.run(["git", "-C", str(repo), "cat-file", "blob", spec], capture_output=True, check=True).stdout
