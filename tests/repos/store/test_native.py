"""The C helpers agree with their Python references: the tree check on every tree of a real
history and thousands of damaged ones (same result, same refusal, same message), and the pack
entry reader on every entry of a real pack and thousands of damaged ones (same result; refused
by both)."""
import random
import re
import shutil
import subprocess

import pytest

from repos.store import trees
from tests.support.gitcli import out

native = pytest.importorskip("repos.store._speedups") if trees.NATIVE_SPEEDUPS else None


def test_native_check_is_built_where_a_compiler_is():
    if shutil.which("cc") or shutil.which("gcc"):
        assert trees.NATIVE_SPEEDUPS, "make setup should have built repos/store/_speedups"


def _outcome(check, raw):
    try:
        return "ok", check(raw)
    except ValueError as e:
        return "refused", str(e)


def _real_trees(repo):
    oids = out("-C", repo, "rev-list", "--all", "--objects", "--filter=blob:none", "--no-object-names").split()
    kinds = out("-C", repo, "cat-file", "--batch-check=%(objecttype) %(objectname)", input="\n".join(oids)).split()
    tree_oids = [kinds[i + 1] for i in range(0, len(kinds), 2) if kinds[i] == "tree"]
    raw = []
    for oid in tree_oids[:400]:
        raw.append(subprocess.run(["git", "-C", str(repo), "cat-file", "tree", oid], capture_output=True,
                                  check=True).stdout)
    return raw


def _damaged(raw, rng):
    data = bytearray(raw)
    kind = rng.randrange(4)
    if kind == 0 and data:
        data[rng.randrange(len(data))] = rng.choice(b"./ 0\x00aA4G")
    elif kind == 1:
        data = data[:rng.randrange(len(data) + 1)]
    elif kind == 2 and len(data) > 1:
        i, j = rng.randrange(len(data)), rng.randrange(len(data))
        data[i], data[j] = data[j], data[i]
    else:
        entries = re.findall(rb"[0-7]+ [^\0]*\0.{20}", bytes(data), re.S)
        if len(entries) > 1 and rng.random() < 0.5:
            entries.insert(rng.randrange(len(entries)), rng.choice(entries))
        else:
            entries.reverse()
        data = bytearray(b"".join(entries))
    return bytes(data)


@pytest.mark.skipif(native is None, reason="the C tree check is not built here")
def test_c_and_python_agree(history):
    rng = random.Random(11)
    real = _real_trees(history)
    assert real
    cases = list(real) + [_damaged(raw, rng) for raw in real for _ in range(8)]
    for name in (b".", b"..", b".git", b".GIT", b".Git", b"a/b", b"", b"x", b"x\nz"):
        for mode in (b"100644", b"40000", b"160000", b"100645", b"040000", b"120000"):
            cases.append(mode + b" " + name + b"\0" + b"\1" * 20)
    cases += [b"", b"100644 a\0" + b"\1" * 19, b"40000 a\0" + b"\1" * 20 + b"100644 a.c\0" + b"\2" * 20,
              b"100644 a.c\0" + b"\2" * 20 + b"40000 a\0" + b"\1" * 20]
    refused = 0
    for raw in cases:
        expected = _outcome(trees.check_tree_py, raw)
        assert _outcome(native.check_tree, raw) == expected, raw
        refused += expected[0] == "refused"
    assert refused > len(cases) // 4  # the damage really was damage


@pytest.mark.skipif(native is None, reason="the C helpers are not built here")
def test_c_and_python_read_pack_entries_alike(history):
    from repos.store.indexer import read_entry_py
    from tests.repos.store.helpers import pack_of

    data = pack_of(history, "--all")
    limit = len(data) - 20
    entries, pos = [], 12
    while pos < limit:
        entry = native.read_entry(data, pos, limit)
        assert entry == read_entry_py(data, pos, limit)
        entries.append((pos, entry[4]))
        pos = entry[4]
    assert pos == limit

    rng = random.Random(3)
    refused = 0
    for start, end in rng.sample(entries, min(400, len(entries))):
        for _ in range(6):
            damaged = bytearray(data[start:end])
            kind = rng.randrange(4)
            if kind == 0:
                damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
            elif kind == 1:
                damaged = damaged[:rng.randrange(len(damaged))]
            elif kind == 2:
                damaged[0] = (damaged[0] & 0x8F) | (rng.randrange(8) << 4)   # another type
            else:
                damaged += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
            buf = bytes(damaged)
            python, c = _outcome3(read_entry_py, buf), _outcome3(native.read_entry, buf)
            assert python[0] == c[0], (buf, python, c)
            if python[0] == "ok":
                assert python == c
            refused += python[0] == "refused"
    assert refused > 300


def _outcome3(read, buf):
    try:
        return "ok", read(buf, 0, len(buf))
    except ValueError as e:
        return "refused", str(e)


@pytest.mark.skipif(native is None, reason="the C helpers are not built here")
def test_c_and_python_find_the_same_changed_paths(store, tmp_path, history):
    from repos.store.trees import TreeCache, changed_paths_py
    from tests.repos.store.helpers import mirror

    mirror(store, tmp_path, history)
    cache = TreeCache(store.reader)
    commits = store.con.execute("SELECT tree, parents FROM commits").fetchall()
    trees_by_commit = dict(store.con.execute("SELECT oid, tree FROM commits").fetchall())
    pairs = [(trees_by_commit.get(parents[:20]) if parents else None, tree) for tree, parents in commits]
    rng = random.Random(5)
    pairs += [(rng.choice(commits)[0], rng.choice(commits)[0]) for _ in range(100)]  # far apart
    pairs += [(None, commits[0][0]), (commits[0][0], None), (commits[0][0], commits[0][0])]
    for old, new in pairs:
        assert sorted(native.changed_paths(cache.entries, old, new)) == sorted(
            changed_paths_py(cache.entries, old, new))
