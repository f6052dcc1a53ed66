"""Committing changes without a work tree, checked against real git: the same changes made with
`git update-index` on an index read from the same commit must give the same tree id; the commit
must be the one `git commit-tree` makes; refusals leave the store untouched."""
import subprocess

import pytest

from repos.store import RepoStore
from repos.store.edit import (
    MODE_EXECUTABLE,
    MODE_SYMLINK,
    Change,
    ChangeError,
    apply_changes,
    commit_changes,
    path_error,
)
from repos.store.packformat import OBJ_BLOB
from repos.store.trees import tree_entries
from repos.store.write import RefMoved, Signature
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, git_env, out

AUTHOR = Signature("Ann Author", "ann@example.org", 1_700_000_000, 120)
COMMITTER = Signature("Con Committer", "con@example.org", 1_700_000_100, -300)


def run(repo, *args, input=None, env=None):
    """git with bytes in and out (blob contents are bytes)."""
    return subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, check=True,
                          env=git_env(env)).stdout


@pytest.fixture
def work(tmp_path):
    """A small repository with nested directories, an executable, a symlink and a submodule entry."""
    path = tmp_path / "work"
    git("init", "-q", "-b", "main", path)
    files = {"README.md": "# hello\n", "src/app.py": "print('hi')\n", "src/lib/util.py": "X = 1\n",
             "src/lib/deep/leaf.txt": "leaf\n", "docs/guide.md": "guide\n", "a.b": "dot\n", "a-b": "dash\n",
             "a/inner.txt": "inner\n", "tools/run.sh": "#!/bin/sh\necho run\n"}
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    (path / "tools/run.sh").chmod(0o755)
    (path / "link").symlink_to("README.md")
    git("-C", path, "add", "-A")
    git("-C", path, "update-index", "--add", "--cacheinfo", "160000,1111111111111111111111111111111111111111,vendor/sub")
    git("-C", path, "commit", "-q", "-m", "start")
    return path


@pytest.fixture
def stored(store, tmp_path, work):
    mirror(store, tmp_path, work)
    return store


def head(work):
    return bytes.fromhex(out("-C", work, "rev-parse", "HEAD").strip())


def git_tree_after(work, base, changes, tmp_path):
    """The tree id git gives for the same changes: an index read from `base`, updated, written."""
    env = {"GIT_INDEX_FILE": str(tmp_path / "edit-index")}
    if base:
        run(work, "read-tree", base, env=env)
    else:
        run(work, "read-tree", "--empty", env=env)
    staged = {line.split("\t", 1)[1]: line.split()[0] for line in
              run(work, "ls-files", "-s", env=env).decode().splitlines()}
    for change in changes:
        if change.delete or change.move_from:
            source = change.path if change.delete else change.move_from
            mode_old = staged.get(source)
            if change.move_from:
                old_blob = run(work, "rev-parse", f":{source}", env=env).decode().strip()
            run(work, "update-index", "--force-remove", source, env=env)
        if change.delete:
            continue
        if change.content is not None:
            blob = run(work, "hash-object", "-w", "--stdin", input=change.content).decode().strip()
        else:
            blob = old_blob
        existing = mode_old if change.move_from else staged.get(change.path)
        mode = change.mode or (int(existing, 8) if existing and existing != "160000" else 0o100644)
        run(work, "update-index", "--add", "--cacheinfo", f"{mode:o},{blob},{change.path}", env=env)
    return bytes.fromhex(run(work, "write-tree", env=env).decode().strip())


CASES = {
    "replace a file": [Change.write("README.md", b"# changed\n")],
    "new file at the root": [Change.write("NEW.txt", b"new\n")],
    "new nested directories": [Change.write("x/y/z/new.txt", b"deep\n")],
    "new file beside a.b and a-b (tree order)": [Change.write("a/zzz", b"z\n"), Change.write("a.c", b"c\n")],
    "delete a file": [Change.remove("docs/guide.md")],
    "delete the last file of a nested directory": [Change.remove("src/lib/deep/leaf.txt")],
    "delete everything in src": [Change.remove("src/app.py"), Change.remove("src/lib/util.py"),
                                 Change.remove("src/lib/deep/leaf.txt")],
    "executable and symlink": [Change.write("bin/tool", b"#!/bin/sh\n", MODE_EXECUTABLE),
                               Change.write("latest", b"bin/tool", MODE_SYMLINK)],
    "update keeps the executable bit": [Change.write("tools/run.sh", b"#!/bin/sh\necho changed\n")],
    "rename": [Change.move("src/app.py", "app.py")],
    "rename keeps the mode": [Change.move("tools/run.sh", "run.sh")],
    "rename with new content": [Change.move("docs/guide.md", "manual/guide.md", b"new guide\n")],
    "rename out of a directory that then vanishes": [Change.move("src/lib/deep/leaf.txt", "leaf.txt")],
    "directory replaced by a file once emptied": [Change.remove("docs/guide.md"), Change.write("docs", b"now a file\n")],
    "file replaced by a directory once deleted": [Change.remove("a.b"), Change.write("a.b/inside", b"in\n")],
    "a symlink replaced by a file": [Change.write("link", b"plain\n", 0o100644)],
    "binary content": [Change.write("img.bin", bytes(range(256)) * 3)],
    "unicode names": [Change.write("naïve/日本.txt", "ü\n".encode())],
    "many changes in many places": [Change.write(f"m{i % 4}/f{i}.txt", f"{i}\n".encode()) for i in range(40)]
                                   + [Change.remove("a/inner.txt"), Change.move("a-b", "m0/a-b")],
}


@pytest.mark.parametrize("name", list(CASES))
def test_trees_match_git(name, stored, work, tmp_path):
    changes = CASES[name]
    base = head(work)
    edited = apply_changes(stored, stored.graph.node(base).tree, changes)
    assert edited.tree == git_tree_after(work, "HEAD", changes, tmp_path)
    # Every new tree is a well-formed git object: git re-hashes it from our bytes, checking it.
    for oid, (type_num, raw) in edited.objects.items():
        kind = "blob" if type_num == OBJ_BLOB else "tree"
        written = run(work, "hash-object", "-t", kind, "-w", "--stdin", input=raw).decode().strip()
        assert written == oid.hex()


def test_empty_repository_first_commit(store, tmp_path):
    changes = [Change.write("README.md", b"# first\n"), Change.write("src/main.py", b"pass\n")]
    done = commit_changes(store, ref="refs/heads/main", expected_tip=None, base=None, changes=changes,
                          message="first", author=AUTHOR, committer=COMMITTER, tmp_dir=str(tmp_path))
    assert done.parents == ()
    assert done.new_head == "refs/heads/main"
    assert store.ref("refs/heads/main") == done.commit
    scratch = tmp_path / "scratch"
    git("init", "-q", scratch)
    assert done.tree == git_tree_after(scratch, None, changes, tmp_path)
    # The same commit git commit-tree makes with the same people and dates.
    env = {"GIT_AUTHOR_NAME": AUTHOR.name, "GIT_AUTHOR_EMAIL": AUTHOR.email,
           "GIT_AUTHOR_DATE": "1700000000 +0200", "GIT_COMMITTER_NAME": COMMITTER.name,
           "GIT_COMMITTER_EMAIL": COMMITTER.email, "GIT_COMMITTER_DATE": "1700000100 -0500"}
    made = run(scratch, "commit-tree", done.tree.hex(), "-m", "first", env=env).decode().strip()
    assert made == done.commit.hex()
    info = store.con.execute("SELECT author_name, committer_email, message FROM commits WHERE oid=?",
                             (done.commit,)).fetchone()
    assert info == ("Ann Author", "con@example.org", "first\n")


def test_commit_on_a_branch_and_clone_it_back(stored, work, tmp_path):
    base = head(work)
    changes = [Change.write("README.md", b"# two\n"), Change.move("src/app.py", "src/main.py"),
               Change.remove("docs/guide.md")]
    done = commit_changes(stored, ref="refs/heads/main", expected_tip=base, base=base, changes=changes,
                          message="edit\n\nbody", author=AUTHOR, committer=COMMITTER, tmp_dir=str(tmp_path))
    assert stored.ref("refs/heads/main") == done.commit
    assert done.parents == (base,)
    assert done.new_head is None
    assert done.updates == [("refs/heads/main", base, done.commit)]
    assert done.written["src/main.py"][1] == bytes.fromhex(out("-C", work, "rev-parse", "HEAD:src/app.py").strip())
    # The commit index knows the changed paths, as after a push.
    paths = {row[0] for row in stored.con.execute(
        "SELECT p.path FROM commit_paths c JOIN paths p ON p.id = c.path_id WHERE c.commit_oid=?", (done.commit,))}
    assert paths == {b"README.md", b"src/app.py", b"src/main.py", b"docs/guide.md"}
    # Copy the new objects into git and check them there: same tree, fsck --strict clean.
    for oid in _new_objects(stored, done.commit, base):
        type_num, raw = stored.get(oid)
        kind = {1: "commit", 2: "tree", 3: "blob"}[type_num]
        assert run(work, "hash-object", "-t", kind, "-w", "--stdin", input=raw).decode().strip() == oid.hex()
    git("-C", work, "update-ref", "refs/heads/edited", done.commit.hex())
    assert out("-C", work, "show", "edited:README.md") == "# two\n"
    assert out("-C", work, "diff", "--name-status", "-M", "main", "edited").split("\n")[:3] == [
        "M\tREADME.md", "D\tdocs/guide.md", "R100\tsrc/app.py\tsrc/main.py"]
    git("-C", work, "fsck", "--strict", "--no-progress")


def _new_objects(store, commit, base):
    """The objects of `commit` that `base` does not have (commit, changed trees and blobs)."""
    seen, result = set(), [commit]
    old = set()

    def walk_tree(oid, into):
        if oid in into:
            return
        into.add(oid)
        _type_num, raw = store.get(oid)
        for mode, _, child in tree_entries(raw):
            if mode == 0o040000:
                walk_tree(child, into)
            elif mode != 0o160000:
                into.add(child)

    walk_tree(store.graph.node(base).tree, old)
    walk_tree(store.graph.node(commit).tree, seen)
    return result + sorted(seen - old)


def test_moved_ref_writes_nothing(stored, work, tmp_path):
    base = head(work)
    objects_before = stored.con.execute("SELECT count(*) FROM objects").fetchone()[0]
    with pytest.raises(RefMoved):
        commit_changes(stored, ref="refs/heads/main", expected_tip=b"\1" * 20, base=base,
                       changes=[Change.write("new.txt", b"x\n")], message="m", author=AUTHOR, tmp_dir=str(tmp_path))
    with pytest.raises(RefMoved):   # a new branch that exists already
        commit_changes(stored, ref="refs/heads/main", expected_tip=None, base=base,
                       changes=[Change.write("new.txt", b"x\n")], message="m", author=AUTHOR, tmp_dir=str(tmp_path))
    assert stored.ref("refs/heads/main") == base
    assert stored.con.execute("SELECT count(*) FROM objects").fetchone()[0] == objects_before


def test_ref_moving_during_the_write_writes_nothing(stored, work, tmp_path):
    """The compare-and-swap itself: another connection moves the branch after our check."""
    base = head(work)
    other = RepoStore.open(stored.path)
    first = commit_changes(other, ref="refs/heads/side", expected_tip=None, base=base,
                           changes=[Change.write("side.txt", b"s\n")], message="side", author=AUTHOR,
                           tmp_dir=str(tmp_path))
    packs_before = stored.con.execute("SELECT count(*) FROM packs").fetchone()[0]
    original_ref = stored.ref

    def stale_ref(name):   # the first check sees the old tip, as if read just before the push landed
        stored.ref = original_ref
        return base

    stored.ref = stale_ref
    try:
        with pytest.raises(RefMoved):
            commit_changes(stored, ref="refs/heads/side", expected_tip=base, base=base,
                           changes=[Change.write("late.txt", b"late\n")], message="late", author=AUTHOR,
                           tmp_dir=str(tmp_path))
    finally:
        stored.__dict__.pop("ref", None)
    other.close()
    assert stored.ref("refs/heads/side") == first.commit
    assert stored.con.execute("SELECT count(*) FROM packs").fetchone()[0] == packs_before


REFUSED = {
    "delete a missing file": ([Change.remove("nope.txt")], 0, "does not exist"),
    "move a missing file": ([Change.move("nope.txt", "b.txt")], 0, "does not exist"),
    "delete a directory": ([Change.remove("src/lib")], 0, "is a directory"),
    "file below a file": ([Change.write("README.md/x", b"x")], 0, "README.md is a file"),
    "file below a submodule": ([Change.write("vendor/sub/x", b"x")], 0, "is a submodule"),
    "file over a directory": ([Change.write("src", b"x")], 0, "src is a directory"),
    "two changes to one path": ([Change.write("a.txt", b"1"), Change.write("a.txt", b"2")], 1, "changed twice"),
    "a move's source changed too": ([Change.move("README.md", "R.md"), Change.remove("README.md")], 1,
                                    "changed twice"),
    "new file and a file inside it": ([Change.write("new", b"1"), Change.write("new/x", b"2")], 1, "is a file"),
    "a bad mode": ([Change.write("x", b"1", 0o100664)], 0, "mode"),
    "nothing to write": ([Change("x")], 0, "no content"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refusals_name_the_change(name, stored, work, tmp_path):
    changes, index, words = REFUSED[name]
    base = head(work)
    with pytest.raises(ChangeError) as caught:
        commit_changes(stored, ref="refs/heads/main", expected_tip=base, base=base, changes=changes, message="m",
                       author=AUTHOR, tmp_dir=str(tmp_path))
    assert caught.value.index == index
    assert words in str(caught.value)
    assert stored.ref("refs/heads/main") == base


@pytest.mark.parametrize("path", ["", "/abs", "a//b", "a/", "./a", "a/./b", "../x", "a/../b", ".git/config",
                                  "x/.git", ".GIT/x", ".git./x", "git~1/x", ".g\u200cit/x", "nul\0byte",
                                  "\udcff"])
def test_paths_git_refuses(path, store):
    assert path_error(path)
    with pytest.raises(ChangeError):
        apply_changes(store, None, [Change.write(path, b"x")])


@pytest.mark.parametrize("path", ["a", "a/b/c.txt", ".gitignore", ".github/workflows/ci.yml", "x.git", "..a",
                                  "a..b", "sp ace/ü.txt", "back\\slash"])
def test_paths_git_accepts(path, store):
    assert path_error(path) is None
    apply_changes(store, None, [Change.write(path, b"x")])


def test_everything_deleted_gives_the_empty_tree(store, tmp_path):
    done = commit_changes(store, ref="refs/heads/main", expected_tip=None, base=None,
                          changes=[Change.write("only/file", b"x")], message="m", author=AUTHOR,
                          tmp_dir=str(tmp_path))
    edited = apply_changes(store, done.tree, [Change.remove("only/file")])
    assert edited.tree.hex() == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
