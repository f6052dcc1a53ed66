"""Diffs checked against real git: the changed files with renames (`git diff-tree -r -M`, modes,
ids and similarity), line counts (`--numstat`) and the whole patch text (`-p`), for every commit
of the history fixture, for distant commit pairs, for a hand-built repository of awkward cases
(renames with edits, swaps, symlinks, binary files, CRLF, missing newlines, mode changes,
non-UTF-8 names, submodules) and for random rename scenarios; then the limits and side-by-side
rows."""
import os
import random
import re
import subprocess

import pytest

from repos.store import RepoStore, renames
from repos.store.diff import commit_diff, diff_trees, patch_text, split_rows, text_hunks, tree_changes
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, git_env, out

GIT_VERSION = tuple(int(n) for n in re.findall(r"\d+", out("--version"))[:3])
UNLIMITED = dict(max_files=10**9, max_lines=10**9, max_file_bytes=10**12)


@pytest.fixture(autouse=True)
def installed_git_rules(monkeypatch):
    # git 2.44 started counting a last line without newline in rename similarity; compare with the
    # rule of the git installed here.
    monkeypatch.setattr(renames, "COUNT_UNTERMINATED_TAIL", GIT_VERSION >= (2, 44))


def git_bytes(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *map(str, args)], capture_output=True, check=True,
                          env=git_env()).stdout


def mirrored(tmp_path_factory, repo):
    where = tmp_path_factory.mktemp("diffstore")
    store = RepoStore.create(where / "repo.sqlite3")
    mirror(store, where, repo)
    return store


@pytest.fixture(scope="module")
def history_store(tmp_path_factory, history):
    store = mirrored(tmp_path_factory, history)
    yield store
    store.close()


# --- git's answers and ours, in one shape ----------------------------------------------------------

def span(repo, commit):
    """git arguments naming a commit against its first parent (the empty tree for a root)."""
    parents = out("-C", repo, "rev-list", "--parents", "-n1", commit).split()[1:]
    return [parents[0], commit] if parents else ["--root", commit]


def trees_of(store, args):
    if args[0] == "--root":
        return None, store.graph.node(bytes.fromhex(args[1])).tree
    return tuple(store.graph.node(bytes.fromhex(rev)).tree for rev in args)


def git_raw(repo, args, *config):
    """`git diff-tree -r -M -z` -> [(status with score, old mode, new mode, old id, new id, old path, new path)]."""
    settings = [arg for setting in config for arg in ("-c", setting)]
    fields = git_bytes(repo, *settings, "diff-tree", "-r", "-M", "-z", "--no-commit-id", *args).split(b"\0")
    entries, i = [], 0
    while i < len(fields) - 1:
        old_mode, new_mode, old_oid, new_oid, status = fields[i].decode()[1:].split(" ")
        paths = fields[i + 1:i + 3] if status[0] == "R" else fields[i + 1:i + 2] * 2
        i += 3 if status[0] == "R" else 2
        entries.append((status, int(old_mode, 8), int(new_mode, 8), old_oid, new_oid, *paths))
    return entries


def our_raw(changes):
    def raw(path):
        return path.encode("utf-8", "surrogateescape")
    return [(c.status + (f"{c.similarity:03d}" if c.status == "R" else ""), c.old_mode, c.new_mode,
             (c.old_oid or b"\0" * 20).hex(), (c.new_oid or b"\0" * 20).hex(),
             raw(c.old_path or c.new_path), raw(c.new_path or c.old_path)) for c in changes]


def git_numstat(repo, args):
    """`git diff-tree -r -M --numstat -z` -> [(added, deleted, new path)], "-" for binary files."""
    fields = git_bytes(repo, "diff-tree", "-r", "-M", "--numstat", "-z", "--no-commit-id", *args).split(b"\0")
    entries, i = [], 0
    while i < len(fields) - 1:
        added, deleted, path = fields[i].split(b"\t", 2)
        if path:
            i += 1
        else:                                          # a rename: old and new paths follow
            path = fields[i + 2]
            i += 3
        entries.append((added.decode(), deleted.decode(), path))
    return entries


def our_numstat(diff):
    return [("-", "-") + (fp.change.path.encode("utf-8", "surrogateescape"),) if fp.binary
            else (str(fp.added), str(fp.deleted), fp.change.path.encode("utf-8", "surrogateescape"))
            for fp in diff.files]


def git_patch(repo, args):
    return git_bytes(repo, "diff-tree", "-p", "-M", "--no-commit-id", *args).decode("utf-8", "replace")


def compare_with_git(store, repo, args):
    """Asserts the file list and the line counts; returns (git's patch, ours, our Diff)."""
    old, new = trees_of(store, args)
    assert our_raw(tree_changes(store, old, new)) == git_raw(repo, args), args
    diff = diff_trees(store, old, new, **UNLIMITED)
    assert our_numstat(diff) == git_numstat(repo, args), args
    return git_patch(repo, args), patch_text(diff), diff


def file_sections(patch):
    return re.split(r"^(?=diff --git )", patch, flags=re.M)[1:]


def equally_minimal(git_text, our_text):
    """Two patches of the same changes that differ only in which of several equally short
    alignments of ambiguous lines they chose: same files and headers, same lines added and deleted."""
    ours, theirs = file_sections(our_text), file_sections(git_text)
    if len(ours) != len(theirs):
        return False
    for a, b in zip(ours, theirs):
        if a.split("\n@@", 1)[0] != b.split("\n@@", 1)[0]:
            return False
        count = lambda text, sign: sum(1 for ln in text.split("\n") if ln.startswith(sign) and not ln.startswith(sign * 3))  # noqa: E731
        if (count(a, "+"), count(a, "-")) != (count(b, "+"), count(b, "-")):
            return False
    return True


# --- the history fixture ---------------------------------------------------------------------------

def test_every_commit_of_the_history_matches_git(history_store, history):
    commits = out("-C", history, "rev-list", "--all").split()
    identical, different = 0, []
    for commit in commits:
        theirs, ours, _ = compare_with_git(history_store, history, span(history, commit))
        if theirs == ours:
            identical += 1
        else:
            different.append(commit)
            assert equally_minimal(theirs, ours), commit
    assert len(commits) == 150
    assert identical >= 0.95 * len(commits), (identical, different)
    print(f"\n{identical} of {len(commits)} commit patches identical to git's; different: {different}")


def test_commit_diff_is_against_the_first_parent_and_a_root_against_nothing(history_store, history):
    root = out("-C", history, "rev-list", "--max-parents=0", "main").strip()
    merge = out("-C", history, "rev-list", "--min-parents=2", "-n1", "main").strip()
    for commit in (root, merge):
        ours = patch_text(commit_diff(history_store, bytes.fromhex(commit), **UNLIMITED))
        assert ours == git_patch(history, span(history, commit))
    root_diff = commit_diff(history_store, bytes.fromhex(root), **UNLIMITED)
    assert {fp.change.status for fp in root_diff.files} == {"A"}
    assert root_diff.changed_files == len(out("-C", history, "ls-tree", "-r", "--name-only", root).split("\n")) - 1


def test_distant_commits_with_renames_match_git(history_store, history):
    commits = out("-C", history, "rev-list", "main").split()
    renamed = out("-C", history, "log", "--diff-filter=R", "--format=%H", "main").split()
    assert renamed, "the fixture renames files"
    pairs = [(commits[-1], commits[0]), (commits[120], commits[3]), (commits[60], commits[0])]
    pairs += [(out("-C", history, "rev-parse", f"{c}^").strip(), commits[0]) for c in renamed]
    rng = random.Random(11)
    pairs += [tuple(rng.sample(commits, 2)) for _ in range(6)]
    seen_renames = 0
    for a, b in pairs:
        theirs, ours, diff = compare_with_git(history_store, history, [a, b])
        assert theirs == ours or equally_minimal(theirs, ours), (a, b)
        seen_renames += sum(1 for fp in diff.files if fp.change.status == "R")
    assert seen_renames >= len(renamed)


def test_renames_with_edits_of_real_files_match_git(tmp_path_factory, history):
    """The fixture's renames are exact; here real files of it are moved and edited by degrees
    (some keeping their basename, some not, some into other directories), then compared."""
    work = tmp_path_factory.mktemp("edited-renames") / "work"
    git("clone", "-q", history, work)
    paths = [p for p in out("-C", work, "ls-files").split("\n") if p.endswith(".py")]
    rng = random.Random(3)
    for k, path in enumerate(rng.sample(paths, 24)):
        data = open(os.path.join(work, path), "rb").read()
        lines = data.split(b"\n")
        keep = [0.0, 0.05, 0.2, 0.35, 0.45, 0.6][k % 6]
        lines = [ln + b"  # edited" if rng.random() < keep else ln for ln in lines]
        folder, name = path.rsplit("/", 1) if "/" in path else ("", path)
        target = [f"moved/{path}", f"{folder}/renamed_{k}.py", f"elsewhere/{name}", f"flat_{k}.py"][k % 4]
        remove(work, path)
        write(work, target, b"\n".join(lines))
    sha = commit(work, "move and edit")
    store = mirrored(tmp_path_factory, work)
    theirs, ours, diff = compare_with_git(store, work, span(work, sha))
    assert theirs == ours or equally_minimal(theirs, ours)
    similarities = sorted(fp.change.similarity for fp in diff.files if fp.change.status == "R")
    assert len(similarities) >= 12 and similarities[0] < 90
    store.close()


# --- a hand-built repository of awkward cases --------------------------------------------------------

PROSE = [f"Line {i} of the story: the {w} jumped over the {v} while the {u} slept.\n".encode()
         for i, (w, v, u) in enumerate(zip(["fox", "cat", "owl", "bee", "elk"] * 8, ["dog", "log", "fence", "moon"] * 10,
                                           ["farmer", "hen", "cow", "bat", "ram", "pig"] * 7))]
PNG = (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa" + bytes(range(256)) * 4)
MODULE = b"".join([
    b"import os\n", b"\n",
    b"def first(x):\n", *[b"    x = x + %d\n" % i for i in range(12)], b"    return x\n", b"\n",
    b"class Second:\n", b"    value = 1\n", *[b"    # comment %d\n" % i for i in range(14)], b"\n",
    b"    def method(self):\n", *[b"        self.value += %d\n" % i for i in range(10)], b"        return self\n",
    b"$dollar = 1\n", b"_private = 2\n", *[b"  indented %d\n" % i for i in range(10)],
    b"\xd0\x94\xd0\xb0 " * 30 + b"\n", *[b"    body %d\n" % i for i in range(8)],
])


def write(work, path, data, mode=None):
    full = os.path.join(os.fsencode(work), path if isinstance(path, bytes) else path.encode())
    os.makedirs(os.path.dirname(full), exist_ok=True)
    if os.path.islink(full):
        os.unlink(full)
    with open(full, "wb") as f:
        f.write(data)
    if mode:
        os.chmod(full, mode)


def symlink(work, path, target):
    full = os.path.join(work, path)
    if os.path.lexists(full):
        os.unlink(full)
    os.symlink(target, full)


def remove(work, path):
    os.unlink(os.path.join(os.fsencode(work), path if isinstance(path, bytes) else path.encode()))


def commit(work, message):
    git("-C", work, "add", "-A", "--", ".", ":(exclude)vendor")    # the gitlink has no work tree
    git("-C", work, "commit", "-q", "--allow-empty", "-m", message)
    return out("-C", work, "rev-parse", "HEAD").strip()


def edited(lines, every):
    return b"".join(line.replace(b"jumped", b"leapt") if i % every == 0 else line for i, line in enumerate(lines))


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    """A work tree whose commits hold one case each, or several that do not interfere."""
    work = tmp_path_factory.mktemp("awkward") / "work"
    git("init", "-q", "-b", "main", work)
    numbers = b"".join(b"%d\n" % i for i in range(1, 51))
    write(work, "story.txt", b"".join(PROSE))
    write(work, "a.txt", b"alpha\n" * 3 + b"first file\n")
    write(work, "b.txt", b"beta\n" * 5 + b"second file\n")
    write(work, "tool.sh", b"#!/bin/sh\necho tool\n")
    write(work, "link-me.txt", b"keep\nsame\n")
    write(work, "also-link.txt", b"a.txt")
    write(work, "image.png", PNG)
    write(work, "blob.bin", PNG[:100])
    write(work, "noeol.txt", b"one\ntwo\nthree")
    write(work, "gets-eol.txt", b"first\nlast")
    write(work, "crlf.txt", b"".join(b"row %d\r\n" % i for i in range(12)))
    write(work, "empty.txt", b"")
    write(work, "empty-old.txt", b"")
    write(work, "with space.txt", b"spaced\n")
    write(work, b"caf\xe9 latin-1.txt", b"non-UTF-8 name\n")
    write(work, "quote\"and\\back.txt", b"odd characters\n")
    write(work, "src/module.py", MODULE)
    write(work, "numbers.txt", numbers)
    write(work, "conf/settings/config.ini", b"".join(b"key%d = value %d\n" % (i, i) for i in range(30)))
    write(work, "dir_or_file", b"a file first\n")
    write(work, "latin1.txt", "déjà vu\nnaïve café\n".encode("latin-1"))
    write(work, "mode-and-text.txt", b"text\nmore\n")
    for i in range(3):
        write(work, f"similar/part{i}.txt", b"".join(PROSE[i * 3:i * 3 + 30]))
    write(work, "twin1/same.txt", b"identical twins\n")
    write(work, "twin2/same.txt", b"identical twins\n")
    write(work, "tail/noeol-rename.txt", b"".join(PROSE[:5]) + b"the last line has no newline")
    first = commit(work, "root")

    write(work, "docs/tale.txt", edited(PROSE, 3) + b"An extra closing line.\n")  # ~60% similar
    remove(work, "story.txt")
    write(work, "a.txt", b"beta\n" * 5 + b"second file\n")                          # swapped
    write(work, "b.txt", b"alpha\n" * 3 + b"first file\n")
    symlink(work, "link-me.txt", "a.txt")                                           # file -> symlink
    write(work, "image.png", PNG.replace(b"IHDR", b"IHDX"))
    write(work, "noeol.txt", b"one\ntwo\nTHREE")
    write(work, "gets-eol.txt", b"first\nlast\n")
    write(work, "crlf.txt", b"".join(b"row %d\r\n" % i if i != 6 else b"ROW six\r\n" for i in range(12)))
    remove(work, "empty.txt")
    os.chmod(os.path.join(work, "tool.sh"), 0o755)                                   # mode only
    write(work, b"caf\xe9 latin-1.txt", b"non-UTF-8 name\nchanged\n")
    write(work, "with space.txt", b"spaced\nout\n")
    write(work, "src/module.py", MODULE.replace(b"x + 5", b"x - 5").replace(b"comment 9", b"remark 9")
          .replace(b"+= 7", b"-= 7").replace(b"body 6", b"BODY 6").replace(b"indented 4", b"INDENTED 4"))
    lines = numbers.split(b"\n")
    lines[9], lines[16], lines[29], lines[37] = b"ten", b"seventeen", b"thirty", b"thirty-eight"
    write(work, "numbers.txt", b"\n".join(lines))                                   # gaps of 6 and 7 lines
    write(work, "conf/moved/config.ini", b"".join(b"key%d = value %d\n" % (i, i) for i in range(30) if i != 4))
    remove(work, "conf/settings/config.ini")                                        # a basename match
    remove(work, "dir_or_file")
    write(work, "dir_or_file/inner.txt", b"now a directory\n")
    write(work, "latin1.txt", "déjà vu\nnaïve café!\n".encode("latin-1"))
    second = commit(work, "awkward changes")
    git("-C", work, "update-index", "--add", "--cacheinfo", "160000," + "1234567890" * 4 + ",vendor/sub")
    git("-C", work, "commit", "-q", "-m", "add a submodule")
    third = out("-C", work, "rev-parse", "HEAD").strip()

    git("-C", work, "update-index", "--cacheinfo", "160000," + "abcdef0123" * 4 + ",vendor/sub")
    remove(work, "image.png")
    write(work, "assets/logo.png", PNG.replace(b"IHDR", b"IHDX")[:-20] + b"\0" * 20)  # binary rename, edited
    os.makedirs(os.path.join(work, "links"))
    os.rename(os.path.join(work, "link-me.txt"), os.path.join(work, "links/moved-link"))  # symlink renamed
    remove(work, "empty-old.txt")
    write(work, "empty-new.txt", b"")                                               # an empty file "renamed"
    remove(work, "tail/noeol-rename.txt")
    write(work, "tail/renamed.txt", b"".join(PROSE[:4]) + b"the last line has no newline!")
    for i in range(3):
        remove(work, f"similar/part{i}.txt")
    write(work, "elsewhere/one.txt", b"".join(PROSE[1:31]))                          # several candidates
    write(work, "elsewhere/two.txt", b"".join(PROSE[5:33]) + b"more\n")
    remove(work, "twin1/same.txt")
    remove(work, "twin2/same.txt")
    write(work, "twins/same.txt", b"identical twins\n")                              # two exact sources
    write(work, "twins/other.txt", b"identical twins\n")
    write(work, "mode-and-text.txt", b"text\nmore\nand more\n", 0o755)
    remove(work, "also-link.txt")
    symlink(work, "also-link.txt", "a.txt")                                         # same bytes, now a symlink
    fourth = commit(work, "renames of all kinds")

    git("-C", work, "rm", "-q", "--cached", "vendor/sub")
    write(work, "tab\there.txt", b"a tab in the name\n")
    symlink(work, "blob.bin", "image.png")                                          # binary -> symlink
    remove(work, "a.txt")
    git("-C", work, "add", "-A", "--", ".", ":(exclude)vendor")
    git("-C", work, "update-index", "--add", "--cacheinfo", "160000," + "fedcba9876" * 4 + ",a.txt")  # file -> gitlink
    git("-C", work, "commit", "-q", "-m", "drop the submodule, two type changes")
    fifth = out("-C", work, "rev-parse", "HEAD").strip()
    return work, [first, second, third, fourth, fifth]


@pytest.fixture(scope="module")
def awkward_store(tmp_path_factory, awkward):
    store = mirrored(tmp_path_factory, awkward[0])
    yield store
    store.close()


def test_awkward_cases_match_git_exactly(awkward_store, awkward):
    work, commits = awkward
    for commit in commits:
        theirs, ours, _ = compare_with_git(awkward_store, work, span(work, commit))
        assert ours == theirs, commit


def by_path(diff):
    return {fp.change.path: fp for fp in diff.files}


def test_awkward_cases_in_detail(awkward_store, awkward):
    work, (first, second, third, fourth, fifth) = awkward
    files = by_path(commit_diff(awkward_store, bytes.fromhex(second)))
    tale = files["docs/tale.txt"].change
    assert (tale.status, tale.old_path) == ("R", "story.txt") and 55 <= tale.similarity <= 70
    assert files["a.txt"].change.status == files["b.txt"].change.status == "M"       # a swap is no rename
    link = files["link-me.txt"]
    assert (link.change.status, link.change.old_mode, link.change.new_mode) == ("T", 0o100644, 0o120000)
    assert [h.header for h in link.hunks] == ["@@ -1,2 +0,0 @@", "@@ -0,0 +1 @@"]
    assert link.hunks[1].lines[0].no_newline
    assert files["image.png"].binary and files["image.png"].hunks == []
    assert (files["image.png"].added, files["image.png"].deleted) == (0, 0)
    noeol = files["noeol.txt"].hunks[0].lines
    assert [(ln.kind, ln.text, ln.no_newline) for ln in noeol[-2:]] == [("-", "three", True), ("+", "THREE", True)]
    assert [ln.text for ln in files["crlf.txt"].hunks[0].lines if ln.kind != " "] == ["row 6\r", "ROW six\r"]
    empty = files["empty.txt"]
    assert (empty.change.status, empty.hunks, empty.added, empty.deleted) == ("D", [], 0, 0)
    tool = files["tool.sh"]
    assert (tool.change.status, tool.change.old_mode, tool.change.new_mode, tool.hunks) == ("M", 0o100644, 0o100755, [])
    assert "caf\udce9 latin-1.txt" in files                                            # surrogateescape
    numbers = files["numbers.txt"].hunks
    assert [h.header for h in numbers] == ["@@ -7,14 +7,14 @@", "@@ -27,7 +27,7 @@", "@@ -35,7 +35,7 @@"]
    sections = [h.section for h in files["src/module.py"].hunks]
    assert sections[0] == "def first(x):" and "class Second:" in sections
    assert files["conf/moved/config.ini"].change.old_path == "conf/settings/config.ini"
    assert files["dir_or_file"].change.status == "D" and files["dir_or_file/inner.txt"].change.status == "A"

    sub = by_path(commit_diff(awkward_store, bytes.fromhex(third)))["vendor/sub"]
    assert (sub.change.status, sub.change.new_mode, sub.added) == ("A", 0o160000, 1)
    assert sub.hunks[0].lines[0].text == "Subproject commit " + "1234567890" * 4

    files = by_path(commit_diff(awkward_store, bytes.fromhex(fourth)))
    assert files["assets/logo.png"].change.status == "R" and files["assets/logo.png"].binary
    assert files["links/moved-link"].change.similarity == 100
    assert files["empty-new.txt"].change.old_path == "empty-old.txt"
    # Exact sources are taken in path order, one with the same basename first: twins/other.txt
    # (first) gets twin1, twins/same.txt then prefers twin2 by its name anyway.
    assert files["twins/other.txt"].change.old_path == "twin1/same.txt"
    assert files["twins/same.txt"].change.old_path == "twin2/same.txt"
    assert files["vendor/sub"].hunks[0].lines[0].text == "-Subproject commit " + "1234567890" * 4 \
        or [ln.kind for ln in files["vendor/sub"].hunks[0].lines] == ["-", "+"]
    assert files["also-link.txt"].change.status == "T" and files["also-link.txt"].added == 0

    files = by_path(commit_diff(awkward_store, bytes.fromhex(fifth)))
    assert files["vendor/sub"].change.status == "D"
    assert (files["blob.bin"].change.status, files["blob.bin"].binary, len(files["blob.bin"].hunks)) == ("T", True, 1)
    assert (files["a.txt"].change.status, files["a.txt"].change.new_mode) == ("T", 0o160000)
    assert "tab\there.txt" in files


# --- rename detection on random scenarios ---------------------------------------------------------

def test_random_rename_scenarios_match_git(tmp_path_factory):
    rng = random.Random(2024)
    work = tmp_path_factory.mktemp("renames") / "work"
    git("init", "-q", "-b", "main", work)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"{", b"}", b"", b"return", b"x = 1", b"# note"]

    def text():
        body = b"".join(b" ".join(rng.choices(words, k=rng.randrange(0, 9))) + b"\n" for _ in range(rng.randrange(0, 60)))
        return body.replace(b"\n", b"\r\n") if rng.random() < 0.1 else body + (b"tail" if rng.random() < 0.2 else b"")

    def mutate(data, rate):
        lines = data.split(b"\n")
        return b"\n".join(b"changed %d" % rng.randrange(99) if rng.random() < rate else ln for ln in lines)

    dirs = ["a", "b", "a/deep", "c"]
    files = {}
    for i in range(40):
        files[f"{rng.choice(dirs)}/f{i}.txt"] = text()
    for path, data in files.items():
        write(work, path, data)
    commits = [commit(work, "start")]
    for round_ in range(12):
        gone = rng.sample(sorted(files), rng.randrange(1, 8))
        for path in gone:
            data = files.pop(path)
            remove(work, path)
            for _ in range(rng.choice([0, 1, 1, 2])):
                base = path.rsplit("/", 1)[1] if rng.random() < 0.4 else f"n{round_}_{rng.randrange(999)}.txt"
                new = f"{rng.choice(dirs)}/{base}"
                if new in files or new in gone:
                    continue
                files[new] = mutate(data, rng.choice([0, 0.1, 0.3, 0.5, 0.7]))
                write(work, new, files[new])
        for _ in range(rng.randrange(0, 3)):
            new = f"c/new{round_}_{rng.randrange(99)}.bin"
            files[new] = text() + b"\0" * rng.randrange(2)
            write(work, new, files[new])
        commits.append(commit(work, f"round {round_}"))
    store = mirrored(tmp_path_factory, work)
    inexact = 0
    for sha in commits[1:]:
        args = span(work, sha)
        expected = git_raw(work, args)
        assert our_raw(tree_changes(store, *trees_of(store, args))) == expected, sha
        inexact += sum(1 for entry in expected if entry[0].startswith("R") and entry[0] != "R100")
    assert inexact >= 5
    store.close()


def test_rename_limit_and_switch(awkward_store, awkward):
    work, commits = awkward
    args = span(work, commits[1])
    old, new = trees_of(awkward_store, args)
    assert "R" not in {c.status for c in tree_changes(awkward_store, old, new, renames=False)}
    # The limit stops only the matrix: exact and basename pairs are still found.
    limited = our_raw(tree_changes(awkward_store, old, new, rename_limit=1))
    assert limited == git_raw(work, args, "diff.renameLimit=1") != git_raw(work, args)


# --- line alignment on repetitive text -----------------------------------------------------------

def test_hunks_on_repetitive_text_are_minimal_and_mostly_git_s(tmp_path):
    """Text made of few distinct lines has many equally short diffs: stats must equal git's, and
    the alignment git picks (Myers, then sliding by the indent heuristic) is reproduced in most."""
    rng = random.Random(7)
    vocab = [b"", b"", b"}", b"    }", b"def f():", b"    return x", b"x = 1", b"if x:", b"        pass", b"\t", b"# c"]
    old_dir, new_dir = tmp_path / "a", tmp_path / "b"
    old_dir.mkdir()
    new_dir.mkdir()
    cases = {}
    for k in range(200):
        lines = [rng.choice(vocab) for _ in range(rng.randrange(1, 50))]
        new = list(lines)
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(new) + 1)
            if rng.random() < 0.5:
                new[i:i] = rng.choices(vocab, k=rng.randrange(1, 5))
            else:
                del new[i:i + rng.randrange(1, 4)]
        a, b = b"\n".join(lines) + b"\n", b"\n".join(new) + (b"\n" if new else b"")
        if a != b:
            (old_dir / f"f{k:03d}").write_bytes(a)
            (new_dir / f"f{k:03d}").write_bytes(b)
            cases[f"f{k:03d}"] = (a, b)
    proc = subprocess.run(["git", "diff", "--no-index", "--no-color", "a", "b"], cwd=tmp_path, capture_output=True,
                          env=git_env())
    theirs = {m.group(1): m.group(2) for m in re.finditer(r"^diff --git a/a/(f\d+) b/b/\1\n.*?\n(@@ .*?)(?=^diff --git |\Z)",
                                                         proc.stdout.decode(), flags=re.M | re.S)}
    identical = 0
    for name, (a, b) in cases.items():
        hunks = text_hunks(a, b)
        ours = "".join(h.header + "\n" + "".join(ln.kind + ln.text + "\n" for ln in h.lines) for h in hunks)
        identical += ours == theirs[name]
        assert equally_minimal("diff --git x\n" + theirs[name], "diff --git x\n" + ours), name
    assert identical >= 0.9 * len(cases), (identical, len(cases))
    print(f"\n{identical} of {len(cases)} random repetitive diffs identical to git's")


# --- limits -----------------------------------------------------------------------------------------

def numstat_totals(repo, args):
    rows = git_numstat(repo, args)
    return (sum(int(a) for a, _, _ in rows if a != "-"), sum(int(d) for _, d, _ in rows if d != "-"), len(rows))


def test_too_large_files_keep_their_counts(history_store, history):
    commit = out("-C", history, "rev-parse", "main").strip()
    args = span(history, commit)
    diff = commit_diff(history_store, bytes.fromhex(commit), max_file_bytes=200)
    assert diff.files and all(fp.hunks == [] and fp.cut.startswith("file too large to diff") for fp in diff.files)
    assert our_numstat(diff) == git_numstat(history, args)
    tiny = commit_diff(history_store, bytes.fromhex(commit), max_file_bytes=10)
    assert all(fp.cut.endswith("line counts not computed") and fp.added == fp.deleted == 0 for fp in tiny.files)
    assert "# file too large to diff" in patch_text(diff)


def test_line_budget_cuts_later_files(history_store, history):
    commit = next(c for c in out("-C", history, "rev-list", "main").split()
                  if len(out("-C", history, "diff-tree", "-r", "--name-only", "--no-commit-id", c + "^", c).split()) >= 3)
    full = commit_diff(history_store, bytes.fromhex(commit))
    first_lines = sum(len(h.lines) for h in full.files[0].hunks)
    cut = commit_diff(history_store, bytes.fromhex(commit), max_lines=first_lines + 1)
    assert cut.files[0].hunks == full.files[0].hunks and cut.files[0].cut is None
    assert cut.files[1].cut and all(fp.hunks == [] and fp.cut for fp in cut.files[2:])
    assert our_numstat(cut) == our_numstat(full) == git_numstat(history, span(history, commit))
    assert (cut.added, cut.deleted, cut.changed_files) == numstat_totals(history, span(history, commit))


def test_file_list_is_cut_but_totals_count_everything(history_store, history):
    root = out("-C", history, "rev-list", "--max-parents=0", "main").strip()
    diff = commit_diff(history_store, bytes.fromhex(root), max_files=5)
    args = span(history, root)
    assert len(diff.files) == 5
    assert (diff.added, diff.deleted, diff.changed_files) == numstat_totals(history, args)
    assert diff.cut == f"Showing 5 of {diff.changed_files:,} changed files"
    assert patch_text(diff).endswith(f"# {diff.cut}\n")


# --- side by side ---------------------------------------------------------------------------------

def test_split_rows_pair_deletions_with_the_additions_that_follow(awkward_store, awkward):
    work, commits = awkward
    files = by_path(commit_diff(awkward_store, bytes.fromhex(commits[1])))
    for fp in files.values():
        for hunk in fp.hunks:
            rows = split_rows(hunk)
            assert [old for old, _ in rows if old] == [ln for ln in hunk.lines if ln.kind in " -"]
            assert [new for _, new in rows if new] == [ln for ln in hunk.lines if ln.kind in " +"]
            for old, new in rows:
                assert old is None or old.kind in " -"
                assert new is None or new.kind in " +"
                assert (old is new) == (old is not None and old.kind == " ")
    crlf = split_rows(files["crlf.txt"].hunks[0])
    assert [(o.text if o else None, n.text if n else None) for o, n in crlf if o is not n] == [("row 6\r", "ROW six\r")]
    tale = split_rows(files["docs/tale.txt"].hunks[0])
    assert all(o.old_no is not None and n.new_no is not None for o, n in tale if o and n)
