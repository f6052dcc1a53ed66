"""Helpers for store tests: packs made by real git, pushes landed the way receive-pack lands them."""
import subprocess

from repos.store.packformat import ZERO_OID
from repos.store.push import RefUpdate
from tests.support.gitcli import out


def pack_of(repo, *revs, thin=False):
    """A pack as `git pack-objects` makes it for `revs` (rev-list syntax, e.g. "main", "^main~3")."""
    args = ["pack-objects", "--stdout", "--delta-base-offset", "--revs"] + (["--thin"] if thin else [])
    args += [r for r in revs if r == "--all"]
    lines = [r for r in revs if r != "--all"]
    return subprocess.run(["git", "-C", str(repo)] + args, input="".join(r + "\n" for r in lines).encode(),
                          capture_output=True, check=True).stdout


def refs_of(repo):
    text = out("-C", repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return {name: bytes.fromhex(oid) for name, oid in (line.split() for line in text.splitlines())}


def push(store, tmp_path, pack_bytes, updates, atomic=False):
    """Land a pack and ref updates ({name: (old, new)}, bytes oids) as a push does."""
    checked = None
    if pack_bytes is not None:
        path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}.pack"
        path.write_bytes(pack_bytes)
        checked = store.check_pack(str(path))
    ups = [RefUpdate(name, old or ZERO_OID, new or ZERO_OID) for name, (old, new) in updates.items()]
    return store.land_push(checked, ups, atomic=atomic)


def mirror(store, tmp_path, repo):
    """The whole of `repo` pushed into `store` in one go."""
    refs = refs_of(repo)
    outcome = push(store, tmp_path, pack_of(repo, "--all"), {name: (None, oid) for name, oid in refs.items()})
    assert [u.error for u in outcome.updates if u.error] == []
    return refs

