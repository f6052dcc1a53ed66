"""Packs Forge writes are packs git accepts: git index-pack (strict) and fsck read them, with the
object set git itself would send."""
import subprocess

from repos.store.objectset import ObjectEnumerator
from repos.store.packgen import stream_whole, write_pack
from repos.store.packformat import ZERO_OID
from repos.store.repack import reachable_objects
from tests.repos.store.helpers import mirror, push
from tests.support.gitcli import git, out


def index_into(bare, pack_bytes, *extra):
    proc = subprocess.run(["git", "-C", str(bare), "index-pack", "--stdin", "--strict", *extra],
                          input=pack_bytes, capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()


def objects(repo, *revs):
    return set(out("-C", repo, "rev-list", "--objects", *revs).split("\n")) - {""}


def ids(repo, *revs):
    return {line.split(" ")[0] for line in objects(repo, *revs)}


def test_a_clean_store_streams_as_one_pack_git_accepts(store, tmp_path, history):
    mirror(store, tmp_path, history)
    assert store.is_clean()
    bare = tmp_path / "clone.git"
    git("init", "-q", "--bare", bare)
    index_into(bare, b"".join(stream_whole(store)))
    for name, oid, _ in store.refs():
        git("-C", bare, "update-ref", name, oid.hex())
    git("-C", bare, "fsck", "--strict", "--no-dangling")
    assert ids(bare, "--all") == ids(history, "--all")


def test_incremental_thin_pack_completes_a_client(store, tmp_path, history):
    mirror(store, tmp_path, history)
    client = tmp_path / "client.git"
    git("init", "-q", "--bare", client)
    git("-C", history, "push", "-q", client, "main~30:refs/heads/main")
    have = bytes.fromhex(out("-C", history, "rev-parse", "main~30").strip())
    want = bytes.fromhex(out("-C", history, "rev-parse", "main").strip())
    commits = store.graph.walk_excluding([want], [have])
    enum = ObjectEnumerator(store)
    enum.add_commits(commits, set(commits))
    assert {o.hex() for o in enum.result.seen} == ids(history, "main", "^main~30")
    index_into(client, b"".join(write_pack(store, enum.result, thin=True)), "--fix-thin")
    git("-C", client, "update-ref", "refs/heads/main", want.hex())
    git("-C", client, "fsck", "--strict", "--no-dangling")


def test_pack_without_ofs_delta_or_thin_bases_is_self_contained(store, tmp_path, history):
    mirror(store, tmp_path, history)
    want = bytes.fromhex(out("-C", history, "rev-parse", "main~3").strip())
    commits = store.graph.walk_excluding([want], [])
    enum = ObjectEnumerator(store)
    enum.add_commits(commits, set(commits))
    bare = tmp_path / "c.git"
    git("init", "-q", "--bare", bare)
    index_into(bare, b"".join(write_pack(store, enum.result, ofs_delta=False, thin=False)))
    git("-C", bare, "update-ref", "refs/heads/main", want.hex())
    git("-C", bare, "fsck", "--strict", "--no-dangling")


def test_repack_drops_what_a_force_push_left_behind(store, tmp_path, history):
    refs = mirror(store, tmp_path, history)
    old_main = refs["refs/heads/main"]
    rewound = bytes.fromhex(out("-C", history, "rev-parse", "main~7").strip())
    # Force main back and delete every other branch: the newest commits become unreachable.
    updates = {name: (oid, ZERO_OID) for name, oid in refs.items() if name not in ("refs/heads/main",)}
    updates["refs/heads/main"] = (old_main, rewound)
    assert all(u.error is None for u in push(store, tmp_path, None, updates).updates)
    assert not store.is_clean()
    kept, dropped = store.repack(str(tmp_path))
    assert dropped > 0
    assert {o.hex() for o in reachable_objects(store).seen} == ids(history, "main~7")
    assert {row[0].hex() for row in store.con.execute("SELECT oid FROM objects")} == ids(history, "main~7")
    assert store.con.execute("SELECT count(*) FROM commits").fetchone()[0] == len(
        out("-C", history, "rev-list", "main~7").split())
    assert store.is_clean()
    bare = tmp_path / "after.git"
    git("init", "-q", "--bare", bare)
    index_into(bare, b"".join(stream_whole(store)))
    git("-C", bare, "update-ref", "refs/heads/main", rewound.hex())
    git("-C", bare, "fsck", "--strict", "--no-dangling")


def test_filtered_whole_store_stream_holds_what_git_would_send(store, tmp_path, history):
    from repos.store.objectset import ObjectFilter
    from repos.store.packgen import stream_selected

    mirror(store, tmp_path, history)
    for spec in ("blob:none", "tree:0", "blob:limit=1000"):
        condition, keeps = ObjectFilter.parse(spec).by_type_and_size()
        bare = tmp_path / f"{spec.replace(':', '-')}.git"
        git("init", "-q", "--bare", bare)
        pack = tmp_path / "filtered.pack"
        pack.write_bytes(b"".join(stream_selected(store, condition, keeps)))
        git("-C", bare, "index-pack", "-o", tmp_path / "filtered.idx", pack)
        listed = subprocess.run(["git", "show-index"], stdin=open(tmp_path / "filtered.idx", "rb"),
                                capture_output=True, check=True).stdout.decode().split("\n")
        got = {line.split()[1] for line in listed if line}
        expected = set(out("-C", history, "rev-list", "--objects", "--all", "--no-object-names",
                           f"--filter={spec}").split())
        assert got == expected, spec
