"""The merge engine checked against real git, pair by pair: merge bases equal to `git merge-base
--all`, clean merges' trees equal to `git merge-tree --write-tree`'s, conflicted merges refused
with the same set of conflicted files as `git merge-tree --write-tree --name-only` (exit 1).

Pairs (about 840 per run; 320 clean real merges, 280 conflicting, 40 with several merge bases):
- make-test-repo histories of 150 and 1000 commits, with side branches added here (one commit from
  main a few to 80 commits back editing files main changed since, sometimes renaming, deleting or
  adding one): side vs main both ways, side vs side, the two parents of every merge commit,
  feature tips against main at several points and against each other, random unrelated commits;
- hand-made repositories built with real git: criss-cross merges (two and three merge bases,
  bases that conflict with each other), edits to different parts / the same part / adjacent lines
  of one file, add/add, delete/modify, mode changes, file/directory, symlinks, binary files,
  renames with edits on the other side, rename/rename, rename/delete, directory renames;
- random two-sided changes (edits, deletions, renames across directories, additions, chmod) and
  random criss-cross histories built on them (MERGE_RANDOM_SEED / MERGE_RANDOM_CASES /
  MERGE_RANDOM_CC_CASES run more of them).
Every pair, both ways round where it matters, must agree with git, except the ones listed in
EXPECTED_DIFFERENCES (none at present: the known differences are in the docstring of
repos/store/merge.py and, for line alignment, in the merge-file test below)."""
import os
import random
import re
import subprocess

import pytest

from repos.store import RepoStore, renames
from repos.store.merge import merge_commits, merge_trees
from repos.store.merge3 import merge_file
from tests.repos.store.helpers import mirror, refs_of
from tests.support.gitcli import git, git_env, out
from tests.support.sources import make_test_repo

GIT_VERSION = tuple(int(n) for n in re.findall(r"\d+", out("--version"))[:3])

# Where Forge knowingly differs from git: {(scenario, ours ref, theirs ref): why}. Checked both
# ways: each listed pair must still differ (so the list stays true), every other pair must agree.
EXPECTED_DIFFERENCES = {}


@pytest.fixture(autouse=True)
def installed_git_rules(monkeypatch):
    monkeypatch.setattr(renames, "COUNT_UNTERMINATED_TAIL", GIT_VERSION >= (2, 44))


# --- git's answers ---------------------------------------------------------------------------------

def git_merge_tree(repo, ours, theirs):
    """(clean, tree oid bytes, sorted conflicted paths as bytes) from `git merge-tree`."""
    proc = subprocess.run(["git", "-C", str(repo), "merge-tree", "--write-tree", "--name-only", "-z",
                           ours.hex(), theirs.hex()], capture_output=True, env=git_env(), check=False)
    assert proc.returncode in (0, 1), proc.stderr
    # -z: tree NUL, conflicted names each NUL-terminated, an empty field, then messages
    fields = proc.stdout.split(b"\0")
    tree = bytes.fromhex(fields[0].decode())
    names = []
    for name in fields[1:]:
        if not name:
            break
        names.append(name)
    return proc.returncode == 0, tree, sorted(set(names))


def git_merge_bases(repo, a, b):
    proc = subprocess.run(["git", "-C", str(repo), "merge-base", "--all", a.hex(), b.hex()],
                          capture_output=True, text=True, env=git_env(), check=True)
    return sorted(bytes.fromhex(line) for line in proc.stdout.split())


def compare(store, repo, ours, theirs):
    """None when Forge agrees with git on this pair, else a description of the difference."""
    result = merge_commits(store, ours, theirs, ours_label=ours.hex().encode(), theirs_label=theirs.hex().encode())
    bases = git_merge_bases(repo, ours, theirs)
    if sorted(result.bases) != bases:
        return f"merge bases {[b.hex() for b in result.bases]} != git {[b.hex() for b in bases]}"
    clean, tree, conflicts = git_merge_tree(repo, ours, theirs)
    if clean != result.clean:
        return f"git clean={clean} conflicts={conflicts}; forge clean={result.clean} conflicts={result.conflicts}"
    if clean and tree != result.tree:
        return f"trees differ: git {tree.hex()} forge {result.tree.hex()}"
    if not clean and conflicts != result.conflicts:
        return f"conflicted files: git {conflicts} forge {result.conflicts}"
    if clean:
        # everything the merged tree needs is in the store or handed back
        missing = [oid for oid in _tree_oids(store, result.tree, result.new_objects)
                   if oid not in result.new_objects and not store.has(oid)]
        if missing:
            return f"objects neither stored nor returned: {[m.hex() for m in missing]}"
    return None


def _tree_oids(store, tree, new):
    from repos.store.trees import is_tree, tree_entries
    pending, seen = [tree], []
    while pending:
        oid = pending.pop()
        seen.append(oid)
        raw = new[oid][1] if oid in new else store.get(oid)[1]
        for mode, _name, child in tree_entries(raw):
            if is_tree(mode):
                pending.append(child)
            elif mode != 0o160000:
                seen.append(child)
    return seen


def check_pairs(store, repo, pairs, scenario=""):
    """Compares every pair; returns the number compared. Fails listing every unexpected outcome."""
    wrong = []
    for ours, theirs, label in pairs:
        problem = compare(store, repo, ours, theirs)
        key = (scenario, label)
        if key in EXPECTED_DIFFERENCES:
            if problem is None:
                wrong.append(f"{label}: expected to differ ({EXPECTED_DIFFERENCES[key]}) but agrees now")
        elif problem is not None:
            wrong.append(f"{label}: {problem}")
    assert not wrong, "\n".join(wrong)
    return len(pairs)


# --- hand-made repositories ------------------------------------------------------------------------

class Work:
    """A work tree driven by real git, with a clock so that commit dates (which order merge bases)
    are fixed."""

    def __init__(self, path):
        self.path = path
        self.clock = 1_700_000_000
        git("init", "-q", "-b", "main", path)

    def run(self, *args):
        self.clock += 60
        stamp = f"{self.clock} +0000"
        return git("-C", self.path, *args, env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}).stdout

    def write(self, name, data, mode=None):
        full = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.isdir(full):
            subprocess.run(["rm", "-rf", full], check=True)
        if os.path.lexists(full):
            os.unlink(full)
        with open(full, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        if mode:
            os.chmod(full, mode)

    def symlink(self, name, target):
        full = os.path.join(self.path, name)
        if os.path.lexists(full):
            os.unlink(full)
        os.symlink(target, full)

    def commit(self, message, **files):
        for name, data in files.items():
            self.write(name.replace("__", "/"), data)
        self.run("add", "-A")
        self.run("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self):
        return bytes.fromhex(self.run("rev-parse", "HEAD").strip())

    def checkout(self, *args):
        self.run("checkout", "-q", *args)


def lines(n, prefix="line"):
    return "".join(f"{prefix} {i}\n" for i in range(1, n + 1))


def edit_lines(text, changes):
    """changes: {1-based line number: new text or None to delete}."""
    out_lines = text.splitlines(keepends=True)
    for number in sorted(changes, reverse=True):
        if changes[number] is None:
            del out_lines[number - 1]
        else:
            out_lines[number - 1] = changes[number] + "\n"
    return "".join(out_lines)


def build_cases(w):
    """Two-branch cases, each from its own root commit on its own pair of branches -> [(ours, theirs, label)]."""
    pairs = []
    base20 = lines(20)

    def case(label, base_files, ours_fn, theirs_fn):
        w.run("checkout", "-q", "--orphan", f"{label}-base")
        w.run("rm", "-rq", "--cached", "--ignore-unmatch", ".")
        for name in os.listdir(w.path):
            if name != ".git":
                subprocess.run(["rm", "-rf", os.path.join(w.path, name)], check=True)
        for name, data in base_files.items():
            w.write(name, data)
        w.commit(f"{label}: base")
        w.run("branch", f"{label}-ours")
        w.run("branch", f"{label}-theirs")
        w.checkout(f"{label}-ours")
        ours_fn(w)
        w.commit(f"{label}: ours")
        ours = w.head()
        w.checkout(f"{label}-theirs")
        theirs_fn(w)
        w.commit(f"{label}: theirs")
        theirs = w.head()
        pairs.append((ours, theirs, label))
        pairs.append((theirs, ours, label + "-swapped"))

    def put(name, data, mode=None):
        return lambda w: w.write(name, data, mode)

    def both(*fns):
        def run(w):
            for fn in fns:
                fn(w)
        return run

    def rm(name):
        return lambda w: w.run("rm", "-rq", name)

    def mv(a, b):
        return lambda w: (os.makedirs(os.path.dirname(os.path.join(w.path, b)) or w.path, exist_ok=True),
                          w.run("mv", a, b))

    def chmod(name, mode):
        return lambda w: os.chmod(os.path.join(w.path, name), mode)

    nothing = lambda w: None
    case("different-parts", {"f.txt": base20},
         put("f.txt", edit_lines(base20, {2: "ours two"})), put("f.txt", edit_lines(base20, {18: "theirs 18"})))
    case("same-line", {"f.txt": base20},
         put("f.txt", edit_lines(base20, {10: "ours ten"})), put("f.txt", edit_lines(base20, {10: "theirs ten"})))
    case("same-change", {"f.txt": base20},
         put("f.txt", edit_lines(base20, {10: "both ten"})), put("f.txt", edit_lines(base20, {10: "both ten"})))
    case("adjacent-lines", {"f.txt": base20},
         put("f.txt", edit_lines(base20, {10: "ours ten"})), put("f.txt", edit_lines(base20, {11: "theirs 11"})))
    case("one-line-apart", {"f.txt": base20},
         put("f.txt", edit_lines(base20, {10: "ours ten"})), put("f.txt", edit_lines(base20, {12: "theirs 12"})))
    case("insert-at-same-place", {"f.txt": base20},
         put("f.txt", base20.replace("line 5\n", "line 5\nours new\n")),
         put("f.txt", base20.replace("line 5\n", "line 5\ntheirs new\n")))
    case("insert-next-to-change", {"f.txt": base20},
         put("f.txt", base20.replace("line 5\n", "line 5\nours new\n")),
         put("f.txt", edit_lines(base20, {6: "theirs six"})))
    case("delete-and-edit-apart", {"f.txt": base20},
         put("f.txt", edit_lines(base20, {3: None, 4: None})), put("f.txt", edit_lines(base20, {15: "theirs"})))
    case("overlapping-identical-and-more", {"f.txt": base20},
         put("f.txt", edit_lines(base20, {7: "same", 8: "ours 8"})), put("f.txt", edit_lines(base20, {7: "same"})))
    case("no-final-newline", {"f.txt": base20.rstrip("\n")},
         put("f.txt", edit_lines(base20, {1: "ours one"}).rstrip("\n")),
         put("f.txt", edit_lines(base20, {20: "theirs last"}).rstrip("\n")))
    case("add-add-same", {"keep": "k\n"}, put("new.txt", "same\n"), put("new.txt", "same\n"))
    case("add-add-different", {"keep": "k\n"}, put("new.txt", "ours\n"), put("new.txt", "theirs\n"))
    case("add-add-mergeable", {"keep": "k\n"},
         put("new.txt", lines(5)), put("new.txt", lines(5)))
    case("delete-modify", {"f.txt": base20}, rm("f.txt"), put("f.txt", edit_lines(base20, {4: "theirs"})))
    case("delete-unchanged", {"f.txt": base20, "g.txt": "g\n"}, rm("f.txt"), put("g.txt", "g2\n"))
    case("delete-both", {"f.txt": base20, "g.txt": "g\n"}, rm("f.txt"), rm("f.txt"))
    case("chmod-and-edit", {"run.sh": base20},
         chmod("run.sh", 0o755), put("run.sh", edit_lines(base20, {5: "theirs"})))
    case("chmod-both", {"run.sh": base20}, chmod("run.sh", 0o755), chmod("run.sh", 0o755))
    case("add-add-modes", {"keep": "k\n"}, put("x.sh", "x\n", 0o755), put("x.sh", "x\n"))
    case("file-vs-directory", {"keep": "k\n"}, put("thing", "a file\n"), put("thing/inside", "in a dir\n"))
    case("file-replaced-by-directory", {"thing": "a file\n", "keep": "k\n"},
         both(rm("thing"), put("thing/inside", "in a dir\n")), put("keep", "k2\n"))
    case("file-replaced-by-directory-vs-edit", {"thing": "a file\n", "keep": "k\n"},
         both(rm("thing"), put("thing/inside", "in a dir\n")), put("thing", "edited\n"))
    case("directory-emptied", {"d/a": "a\n", "d/b": "b\n", "keep": "k\n"},
         rm("d/a"), rm("d/b"))
    case("directory-emptied-one-each", {"d/a": "a\n", "d/b": "b\n", "keep": "k\n"},
         rm("d/a"), rm("d/b"))
    case("deep-edits", {"a/b/c/d.txt": base20, "a/b/e.txt": "e\n", "z/y.txt": "y\n"},
         put("a/b/c/d.txt", edit_lines(base20, {1: "o"})), both(put("a/b/c/d.txt", edit_lines(base20, {20: "t"})),
                                                                 put("z/new.txt", "n\n")))
    case("symlink-change", {"link": "x\n"}, lambda w: w.symlink("link", "target-a"), put("other", "o\n"))
    case("symlink-both", {"keep": "k\n"}, lambda w: w.symlink("link", "target-a"),
         lambda w: w.symlink("link", "target-b"))
    case("binary-both", {"bin": b"\0\1\2" * 10}, put("bin", b"\0\1\3" * 10), put("bin", b"\0\1\4" * 10))
    case("binary-one", {"bin": b"\0\1\2" * 10}, put("bin", b"\0\1\3" * 10), put("other", "o\n"))
    case("rename-vs-edit", {"old.txt": base20, "keep": "k\n"},
         mv("old.txt", "new.txt"), put("old.txt", edit_lines(base20, {3: "theirs"})))
    case("rename-and-edit-vs-edit", {"old.txt": base20, "keep": "k\n"},
         both(mv("old.txt", "new.txt"), put("new.txt", edit_lines(base20, {18: "ours"}))),
         put("old.txt", edit_lines(base20, {3: "theirs"})))
    case("rename-into-dir-vs-edit", {"old.txt": base20, "keep": "k\n"},
         mv("old.txt", "sub/dir/new.txt"), put("old.txt", edit_lines(base20, {3: "theirs"})))
    case("rename-vs-conflicting-edit", {"old.txt": base20, "keep": "k\n"},
         both(mv("old.txt", "new.txt"), put("new.txt", edit_lines(base20, {3: "ours"}))),
         put("old.txt", edit_lines(base20, {3: "theirs"})))
    case("rename-vs-delete", {"old.txt": base20, "keep": "k\n"}, mv("old.txt", "new.txt"), rm("old.txt"))
    case("rename-both-same", {"old.txt": base20, "keep": "k\n"},
         both(mv("old.txt", "new.txt"), put("new.txt", edit_lines(base20, {2: "o"}))),
         both(mv("old.txt", "new.txt"), put("new.txt", edit_lines(base20, {19: "t"}))))
    case("rename-both-different", {"old.txt": base20, "keep": "k\n"},
         mv("old.txt", "one.txt"), mv("old.txt", "two.txt"))
    case("rename-vs-add-at-destination", {"old.txt": base20, "keep": "k\n"},
         mv("old.txt", "new.txt"), both(put("new.txt", "other\n"), put("old.txt", edit_lines(base20, {3: "x"}))))
    case("rename-untouched", {"old.txt": base20, "keep": "k\n"}, mv("old.txt", "new.txt"), put("keep", "k2\n"))
    case("nothing-vs-edit", {"f.txt": base20}, nothing, put("f.txt", edit_lines(base20, {1: "t"})))
    case("rename-two-to-one", {"a.txt": base20, "b.txt": lines(20, "other"), "keep": "k\n"},
         mv("a.txt", "c.txt"), mv("b.txt", "c.txt"))
    case("directory-rename-vs-add", {"d/a.txt": base20, "d/b.txt": lines(20, "b"), "keep": "k\n"},
         both(mv("d/a.txt", "e/a.txt"), mv("d/b.txt", "e/b.txt")), put("d/c.txt", "new in d\n"))
    case("directory-rename-nested-vs-add", {"src/util/a.py": base20, "src/util/b.py": lines(20, "b"), "keep": "k\n"},
         both(mv("src/util/a.py", "lib/util/a.py"), mv("src/util/b.py", "lib/util/b.py")),
         put("src/util/c.py", "new\n"))
    case("directory-rename-to-top-vs-add", {"pkg/a.py": base20, "pkg/b.py": lines(20, "b"), "keep": "k\n"},
         both(mv("pkg/a.py", "a.py"), mv("pkg/b.py", "b.py")), put("pkg/c.py", "new\n"))
    case("directory-rename-with-edit-vs-add-and-edit", {"d/a.txt": base20, "d/b.txt": lines(20, "b"), "keep": "k\n"},
         both(mv("d/a.txt", "e/a.txt"), mv("d/b.txt", "e/b.txt"), put("e/a.txt", edit_lines(base20, {1: "o"}))),
         both(put("d/c.txt", "new in d\n"), put("d/a.txt", edit_lines(base20, {20: "t"}))))
    case("directory-rename-vs-rename-inside", {"c/x.txt": base20, "c/y.txt": lines(20, "y"), "keep": "k\n"},
         both(mv("c/x.txt", "a/x.txt"), mv("c/y.txt", "a/y.txt")), mv("c/x.txt", "c/z.txt"))
    case("directory-rename-vs-rename-into-it", {"c/x.txt": base20, "c/y.txt": lines(20, "y"), "w.txt": lines(20, "w")},
         both(mv("c/x.txt", "a/x.txt"), mv("c/y.txt", "a/y.txt")),
         both(mv("w.txt", "c/w.txt"), put("c/w.txt", edit_lines(lines(20, "w"), {1: "t"}))))
    case("exact-rename-of-an-untouched-file-wins", {"a.txt": base20, "c.txt": edit_lines(base20, {1: "c"}), "k": "k\n"},
         both(rm("a.txt"), mv("c.txt", "b.txt")), put("a.txt", edit_lines(base20, {10: "theirs"})))
    case("delete-directory-vs-edit-inside", {"d/a.txt": base20, "d/b.txt": "b\n", "keep": "k\n"},
         rm("d"), put("d/a.txt", edit_lines(base20, {4: "t"})))
    case("delete-directory-vs-add-inside", {"d/a.txt": base20, "keep": "k\n"},
         rm("d"), put("d/new.txt", "n\n"))
    case("add-add-in-new-directory", {"keep": "k\n"},
         both(put("n/x.txt", "ours\n"), put("n/same.txt", "s\n")),
         both(put("n/x.txt", "theirs\n"), put("n/same.txt", "s\n")))
    case("file-to-symlink-vs-edit", {"f": "content\n", "keep": "k\n"},
         lambda w: w.symlink("f", "elsewhere"), put("f", "edited\n"))
    case("many-files-some-overlap", {f"m/{i}.txt": lines(30, f"m{i}") for i in range(12)},
         both(*[put(f"m/{i}.txt", edit_lines(lines(30, f"m{i}"), {i + 1: "ours"})) for i in range(0, 12, 2)]),
         both(*[put(f"m/{i}.txt", edit_lines(lines(30, f"m{i}"), {30 - i: "theirs"})) for i in range(0, 12, 3)]))
    return pairs


def build_criss_cross(w):
    """Criss-cross histories (two and three merge bases), clean and conflicting."""
    pairs = []
    base = lines(30)
    w.run("checkout", "-q", "--orphan", "cc-root")
    w.run("rm", "-rq", "--cached", "--ignore-unmatch", ".")
    for name in os.listdir(w.path):
        if name != ".git":
            subprocess.run(["rm", "-rf", os.path.join(w.path, name)], check=True)
    w.commit("cc root", **{"f.txt": base, "g.txt": lines(10, "g"), "h.txt": lines(10, "h")})
    w.run("branch", "cc-a")
    w.run("branch", "cc-b")
    w.checkout("cc-a")
    w.commit("a1", **{"f.txt": edit_lines(base, {2: "a1"})})
    w.checkout("cc-b")
    w.commit("b1", **{"f.txt": edit_lines(base, {28: "b1"})})
    # criss-cross: each merges the other's first commit
    w.checkout("cc-a")
    w.run("merge", "-q", "--no-edit", "cc-b~0")
    a_merge = w.head()
    w.checkout("cc-b")
    w.run("merge", "-q", "--no-edit", "cc-a~1")
    w.checkout("cc-a")
    w.commit("a2", **{"g.txt": edit_lines(lines(10, "g"), {1: "a2"})})
    w.checkout("cc-b")
    w.commit("b2", **{"g.txt": edit_lines(lines(10, "g"), {10: "b2"})})
    pairs.append((w_ref(w, "cc-a"), w_ref(w, "cc-b"), "criss-cross-clean"))
    pairs.append((w_ref(w, "cc-b"), w_ref(w, "cc-a"), "criss-cross-clean-swapped"))
    w.checkout("cc-a")
    w.commit("a3", **{"h.txt": edit_lines(lines(10, "h"), {5: "a3"})})
    w.checkout("cc-b")
    w.commit("b3", **{"h.txt": edit_lines(lines(10, "h"), {5: "b3"})})
    pairs.append((w_ref(w, "cc-a"), w_ref(w, "cc-b"), "criss-cross-conflict"))
    pairs.append((w_ref(w, "cc-b"), w_ref(w, "cc-a"), "criss-cross-conflict-swapped"))

    # criss-cross whose merge bases conflict with each other (the virtual base keeps markers)
    w.checkout("-q", "-b", "vx-a", "cc-root")
    w.commit("vx a1", **{"f.txt": edit_lines(base, {15: "a side"})})
    w.checkout("-q", "-b", "vx-b", "cc-root")
    w.commit("vx b1", **{"f.txt": edit_lines(base, {15: "b side"})})
    w.checkout("vx-a")
    w.run("merge", "-q", "--no-edit", "-s", "ours", "vx-b")
    w.checkout("vx-b")
    w.run("merge", "-q", "--no-edit", "-s", "ours", "vx-a~1")
    w.checkout("vx-a")
    w.commit("vx a2", **{"g.txt": edit_lines(lines(10, "g"), {2: "a"})})
    w.checkout("vx-b")
    w.commit("vx b2", **{"h.txt": edit_lines(lines(10, "h"), {2: "b"})})
    pairs.append((w_ref(w, "vx-a"), w_ref(w, "vx-b"), "virtual-base-with-markers"))
    pairs.append((w_ref(w, "vx-b"), w_ref(w, "vx-a"), "virtual-base-with-markers-swapped"))
    w.checkout("vx-a")
    w.commit("vx a3", **{"f.txt": edit_lines(base, {15: "a final"})})
    pairs.append((w_ref(w, "vx-a"), w_ref(w, "vx-b"), "virtual-base-then-edit"))

    # three merge bases: three branches each merging the others' first commits
    tips = []
    for name in ("t1", "t2", "t3"):
        w.checkout("-q", "-b", name, "cc-root")
        w.commit(f"{name} first", **{f"{name}.txt": f"{name}\n"})
        tips.append(name)
    w.checkout("-q", "-b", "x", "t1")
    w.run("merge", "-q", "--no-edit", "t2", "t3")
    w.commit("x work", **{"f.txt": edit_lines(base, {1: "x"})})
    w.checkout("-q", "-b", "y", "t2")
    w.run("merge", "-q", "--no-edit", "t1", "t3")
    w.commit("y work", **{"f.txt": edit_lines(base, {30: "y"})})
    pairs.append((w_ref(w, "x"), w_ref(w, "y"), "three-bases"))
    pairs.append((w_ref(w, "y"), w_ref(w, "x"), "three-bases-swapped"))
    assert a_merge
    return pairs


def w_ref(w, name):
    return bytes.fromhex(w.run("rev-parse", name).strip())


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge-cases")
    w = Work(str(root / "work"))
    pairs = build_cases(w) + build_criss_cross(w)
    store = RepoStore.create(root / "repo.sqlite3")
    mirror(store, root, w.path)
    yield store, w.path, pairs
    store.close()


def test_hand_made_cases_match_git(handmade):
    store, repo, pairs = handmade
    assert check_pairs(store, repo, pairs, "handmade") >= 80


def test_criss_cross_has_several_bases_and_conflicts_change_nothing(handmade):
    store, _repo, pairs = handmade
    by_label = {label: (o, t) for o, t, label in pairs}
    result = merge_commits(store, *by_label["criss-cross-clean"])
    assert len(result.bases) == 2
    assert result.clean and result.tree is not None
    conflicted = merge_commits(store, *by_label["criss-cross-conflict"])
    assert conflicted.tree is None and conflicted.conflicts == [b"h.txt"] and conflicted.new_objects == {}
    three = merge_commits(store, *by_label["three-bases"])
    assert len(three.bases) == 3


# --- make-test-repo histories ----------------------------------------------------------------------

def revise(rng, data):
    """make-test-repo's kind of edit: a few lines inserted, revised or deleted at random places."""
    text = data.split(b"\n")
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(text) + 1)
        kind = rng.random()
        if kind < 0.5 or not text:
            text.insert(i, b"# side note %d" % rng.randrange(10**6))
        elif kind < 0.8 and i < len(text):
            text[i] = text[i] + b"  # side revision"
        elif i < len(text):
            del text[i]
    return b"\n".join(text)


def add_side_branches(repo, count, seed):
    """Branches side/N, each started from main a few to 80 commits back, with one commit that
    edits some of the files main changed since (plus now and then an untouched file, a new file,
    a rename or a deletion of a file main changed): real merges, some clean, some conflicting."""
    rng = random.Random(seed)
    env = git_env({"GIT_INDEX_FILE": os.path.join(repo, "side-index")})

    def run(*args, data=None):
        return subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=True,
                              env=env).stdout

    def put(oid, path):
        """Index entry for path (oid None: remove it); a bare repository has no work tree."""
        line = f"100644 {oid}\t{path}\n" if oid else f"0 {'0' * 40}\t{path}\n"
        run("update-index", "--index-info", data=line.encode())

    first_parents = run("rev-list", "--first-parent", "main").decode().split()
    for n in range(count):
        start = first_parents[min(len(first_parents) - 1, rng.choice([2, 4, 8, 15, 30, 80]))]
        everything = run("ls-tree", "-r", "--name-only", start).decode().splitlines()
        present = set(everything)
        changed = [p for p in run("diff", "--name-only", "--no-renames", start, "main").decode().splitlines()
                   if p in present]
        targets = rng.sample(changed, min(len(changed), rng.randint(1, 3)))
        if rng.random() < 0.3:
            targets.append(rng.choice(everything))
        run("read-tree", start)
        for path in dict.fromkeys(targets):
            oid = run("hash-object", "-w", "--stdin", data=revise(rng, run("cat-file", "blob", f"{start}:{path}"))).decode().strip()
            put(oid, path)
        roll = rng.random()
        if roll < 0.15 and changed:
            path = rng.choice(changed)
            oid = run("rev-parse", f"{start}:{path}").decode().strip()
            put(None, path)
            put(oid, f"{path.rsplit('.', 1)[0]}_moved.py")
        elif roll < 0.25 and changed:
            put(None, rng.choice(changed))
        elif roll < 0.4:
            oid = run("hash-object", "-w", "--stdin", data=b"new file %d\n" % n).decode().strip()
            put(oid, f"side/new_{n}.txt")
        tree = run("write-tree").decode().strip()
        commit = run("commit-tree", tree, "-p", start, "-m", f"side {n}",
                     data=None).decode().strip()
        run("update-ref", f"refs/heads/side/{n}", commit)
    os.unlink(os.path.join(repo, "side-index"))


def history_pairs(repo, store, seed, count_random):
    """Pairs of commits from a make-test-repo history: the side branches against main and against
    each other, the two parents of every merge commit, feature tips against each other and against
    main at several points, and random commits that are not ancestors of each other."""
    refs = refs_of(repo)
    main = refs["refs/heads/main"]
    features = sorted(oid for name, oid in refs.items() if name.startswith("refs/heads/feature/"))
    sides = [oid for name, oid in sorted(refs.items()) if name.startswith("refs/heads/side/")]
    first_parents = [bytes.fromhex(x) for x in out("-C", repo, "rev-list", "--first-parent", "main").split()]
    merges = [line.split() for line in out("-C", repo, "rev-list", "--merges", "--parents", "main").splitlines()]
    pairs = []
    for i, side in enumerate(sides):
        pairs.append((side, main, f"side {i} into main"))
        pairs.append((main, side, f"main into side {i}"))
        if i:
            pairs.append((sides[i - 1], side, f"side {i - 1} vs side {i}"))
    for m, p1, p2 in merges:
        pairs.append((bytes.fromhex(p1), bytes.fromhex(p2), f"merge-parents {m[:10]}"))
    for i, tip in enumerate(features):
        pairs.append((main, tip, f"main vs feature {i}"))
        for step in (3, 25):
            pairs.append((first_parents[min(step * (i + 1), len(first_parents) - 1)], tip, f"main~{step} vs feature {i}"))
        if i:
            pairs.append((features[i - 1], tip, f"feature {i - 1} vs {i}"))
    rng = random.Random(seed)
    commits = [bytes.fromhex(x) for x in out("-C", repo, "rev-list", "--all", "--no-merges").split()]
    graph = store.graph
    found = 0
    while found < count_random:
        a, b = rng.sample(commits, 2)
        if graph.is_ancestor(a, b) or graph.is_ancestor(b, a):
            continue
        pairs.append((a, b, f"random {found}"))
        found += 1
    return pairs


@pytest.fixture(scope="module")
def history_150(tmp_path_factory, history):
    where = tmp_path_factory.mktemp("history150")
    repo = where / "src.git"
    subprocess.run(["cp", "-r", str(history), str(repo)], check=True)
    add_side_branches(repo, 30, seed=150)
    store = RepoStore.create(where / "repo.sqlite3")
    mirror(store, where, repo)
    yield store, repo
    store.close()


def test_history_150_pairs_match_git(history_150):
    store, repo = history_150
    pairs = history_pairs(repo, store, seed=1, count_random=20)
    assert check_pairs(store, repo, pairs, "history150") >= 100


@pytest.fixture(scope="module")
def history_1000(tmp_path_factory):
    where = tmp_path_factory.mktemp("history1000")
    repo = make_test_repo(where / "src.git", 1000)
    add_side_branches(repo, 60, seed=1000)
    store = RepoStore.create(where / "repo.sqlite3")
    mirror(store, where, repo)
    yield store, repo
    store.close()


def test_history_1000_pairs_match_git(history_1000):
    store, repo = history_1000
    pairs = history_pairs(repo, store, seed=2, count_random=30)
    assert check_pairs(store, repo, pairs, "history1000") >= 200


# --- the merge of one file against git merge-file ---------------------------------------------------

def test_line_merge_matches_git_merge_file_on_random_edits(tmp_path):
    rng = random.Random(7)
    alphabet = ["alpha", "beta", "gamma", "}", "", "return x"]

    def mutate(lines_):
        lines_ = list(lines_)
        for _ in range(rng.randint(0, 3)):
            i = rng.randrange(len(lines_) + 1)
            kind = rng.random()
            if kind < 0.4:
                lines_.insert(i, rng.choice(alphabet) + f" {rng.randrange(5)}\n")
            elif kind < 0.7 and i < len(lines_):
                lines_[i] = lines_[i].rstrip("\n") + " changed\n"
            elif i < len(lines_):
                del lines_[i]
        return lines_

    disagreements = []
    for n in range(300):
        base = [f"{rng.choice(alphabet)} {rng.randrange(3)}\n" for _ in range(rng.randint(0, 12))]
        texts = ["".join(x).encode() for x in (base, mutate(base), mutate(base))]
        for name, data in zip("bot", texts):
            (tmp_path / name).write_bytes(data)
        proc = subprocess.run(["git", "merge-file", "-p", str(tmp_path / "o"), str(tmp_path / "b"), str(tmp_path / "t")],
                              capture_output=True, env=git_env(), check=False)
        ours = merge_file(texts[0], texts[1], texts[2])
        if ours.clean != (proc.returncode == 0) or (ours.clean and ours.data != proc.stdout):
            disagreements.append(n)
    # Where several minimal alignments exist, git's Myers and our LCS may pick different ones;
    # on this random, very repetitive text that happens rarely (measured: 0-4 in 1,000).
    assert len(disagreements) <= 3, disagreements


def test_merge_trees_is_cherry_pick_shaped(handmade):
    store, _repo, pairs = handmade
    by_label = {label: (o, t) for o, t, label in pairs}
    ours, theirs = by_label["different-parts"]
    g = store.graph
    base = g.node(g.node(theirs).parents[0]).tree
    picked = merge_trees(store, base, g.node(ours).tree, g.node(theirs).tree)
    assert picked.clean
    assert picked.tree == merge_commits(store, ours, theirs).tree


def test_unknown_commit_is_refused(handmade):
    store, _repo, pairs = handmade
    with pytest.raises(ValueError):
        merge_commits(store, pairs[0][0], b"\1" * 20)


# --- random two-sided changes ----------------------------------------------------------------------

def random_side(rng, w, files, tag):
    """A few random changes to the work tree: line edits, deletions, renames (within and across
    directories, some with edits), additions, mode changes."""
    names = sorted(files)
    for _ in range(rng.randint(1, 4)):
        if not names:
            break
        roll = rng.random()
        name = rng.choice(names)
        if roll < 0.45:
            text = files[name].splitlines(keepends=True)
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(text) + 1)
                if rng.random() < 0.5 or not text:
                    text.insert(i, f"{tag} added {rng.randrange(1000)}\n")
                elif i < len(text):
                    text[i] = f"{tag} changed {rng.randrange(1000)}\n"
            files[name] = "".join(text)
            w.write(name, files[name])
        elif roll < 0.55:
            os.unlink(os.path.join(w.path, name))
            del files[name]
            names.remove(name)
        elif roll < 0.75:
            target = rng.choice(["a", "b", "c", "d"]) + f"/{tag}_{rng.randrange(100)}.txt"
            if target in files or any(t.startswith(target + "/") for t in files):
                continue
            os.makedirs(os.path.join(w.path, os.path.dirname(target)), exist_ok=True)
            os.rename(os.path.join(w.path, name), os.path.join(w.path, target))
            files[target] = files.pop(name)
            names = sorted(files)
        elif roll < 0.9:
            target = rng.choice(["a", "b", "c", "d"]) + f"/new_{rng.randrange(10)}.txt"
            if target in files:
                continue
            files[target] = lines(rng.randint(1, 8), f"{tag} new")
            w.write(target, files[target])
            names = sorted(files)
        else:
            os.chmod(os.path.join(w.path, name), 0o755)


@pytest.fixture(scope="module")
def random_cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge-random")
    w = Work(str(root / "work"))
    rng = random.Random(int(os.environ.get("MERGE_RANDOM_SEED", "5")))
    pairs = []
    for n in range(int(os.environ.get("MERGE_RANDOM_CASES", "40"))):
        w.run("checkout", "-q", "--orphan", f"r{n}-base")
        w.run("rm", "-rq", "--cached", "--ignore-unmatch", ".")
        for name in os.listdir(w.path):
            if name != ".git":
                subprocess.run(["rm", "-rf", os.path.join(w.path, name)], check=True)
        files = {f"{d}/{k}.txt": lines(rng.randint(5, 25), f"{d}{k}") for d in ("a", "b", "c") for k in range(3)}
        for name, data in files.items():
            w.write(name, data)
        w.commit(f"r{n} base")
        w.run("branch", f"r{n}-theirs")
        ours_files = dict(files)
        random_side(rng, w, ours_files, "ours")
        ours = w.commit(f"r{n} ours")
        w.checkout(f"r{n}-theirs")
        w.run("reset", "-q", "--hard")
        random_side(rng, w, dict(files), "theirs")
        theirs = w.commit(f"r{n} theirs")
        pairs.append((ours, theirs, f"random-{n}"))
    store = RepoStore.create(root / "repo.sqlite3")
    mirror(store, root, w.path)
    yield store, w.path, pairs
    store.close()


def test_random_two_sided_changes_match_git(random_cases):
    store, repo, pairs = random_cases
    swapped = [(t, o, label + "-swapped") for o, t, label in pairs]
    assert check_pairs(store, repo, pairs + swapped, "random") == 2 * len(pairs)


@pytest.fixture(scope="module")
def random_criss_cross(tmp_path_factory):
    """Criss-cross histories with random changes: each side's first commit merged into the other
    with `-s ours` (so the two merge bases may themselves conflict, and the virtual base keeps
    markers), then more random changes on each side."""
    root = tmp_path_factory.mktemp("merge-random-cc")
    w = Work(str(root / "work"))
    rng = random.Random(int(os.environ.get("MERGE_RANDOM_SEED", "9")))
    pairs = []
    for n in range(int(os.environ.get("MERGE_RANDOM_CC_CASES", "15"))):
        w.run("checkout", "-q", "--orphan", f"x{n}-a")
        w.run("rm", "-rq", "--cached", "--ignore-unmatch", ".")
        for name in os.listdir(w.path):
            if name != ".git":
                subprocess.run(["rm", "-rf", os.path.join(w.path, name)], check=True)
        files = {f"{d}/{k}.txt": lines(rng.randint(5, 25), f"{d}{k}") for d in ("a", "b") for k in range(3)}
        for name, data in files.items():
            w.write(name, data)
        w.commit(f"x{n} root")
        w.run("branch", f"x{n}-b")
        a_files, b_files = dict(files), dict(files)
        random_side(rng, w, a_files, "a1")
        w.commit(f"x{n} a1")
        w.checkout(f"x{n}-b")
        w.run("reset", "-q", "--hard")
        random_side(rng, w, b_files, "b1")
        w.commit(f"x{n} b1")
        w.run("merge", "-q", "--no-edit", "-s", "ours", f"x{n}-a")
        w.checkout(f"x{n}-a")
        w.run("reset", "-q", "--hard")
        w.run("merge", "-q", "--no-edit", "-s", "ours", f"x{n}-b~1")
        random_side(rng, w, a_files, "a2")
        ours = w.commit(f"x{n} a2")
        w.checkout(f"x{n}-b")
        w.run("reset", "-q", "--hard")
        random_side(rng, w, b_files, "b2")
        theirs = w.commit(f"x{n} b2")
        pairs.append((ours, theirs, f"criss-cross-{n}"))
        pairs.append((theirs, ours, f"criss-cross-{n}-swapped"))
    store = RepoStore.create(root / "repo.sqlite3")
    mirror(store, root, w.path)
    yield store, w.path, pairs
    store.close()


def test_random_criss_cross_match_git(random_criss_cross):
    store, repo, pairs = random_criss_cross
    assert all(len(merge_commits(store, o, t).bases) == 2 for o, t, _ in pairs)
    assert check_pairs(store, repo, pairs, "random-criss-cross") == len(pairs)
