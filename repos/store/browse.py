"""Reading a repository the way its pages do: a URL's REF/PATH resolved to a commit and a path
(refs may contain '/'), trees listed with what each entry is, blobs read. No Django here."""
from dataclasses import dataclass

from .packformat import OBJ_BLOB, OBJ_TREE
from .trees import MODE_GITLINK, MODE_TREE, tree_entries

MODE_SYMLINK = 0o120000
MODE_EXECUTABLE = 0o100755


class NotFound(LookupError):
    """No such ref, commit or path."""


@dataclass(frozen=True)
class Resolved:
    ref: str | None        # full ref name ("refs/heads/feature/x"), None for a commit id
    commit: bytes
    path: str              # "" for the root; no leading or trailing '/'


@dataclass(frozen=True)
class Entry:
    name: str
    path: str
    mode: int
    oid: bytes
    kind: str              # "tree", "blob", "symlink" or "submodule"
    size: int | None       # blobs and symlinks only

    @property
    def is_tree(self):
        return self.kind == "tree"

    @property
    def executable(self):
        return self.mode == MODE_EXECUTABLE


def _kind(mode):
    if mode & 0o170000 == MODE_TREE:
        return "tree"
    if mode == MODE_GITLINK:
        return "submodule"
    if mode == MODE_SYMLINK:
        return "symlink"
    return "blob"


def _decode(name):
    return name.decode("utf-8", "surrogateescape")


def resolve_commit(store, spec):
    """A branch or tag short name, a full ref, HEAD, or a (possibly abbreviated) commit id ->
    (full ref name or None, commit oid). Raises NotFound."""
    try:
        spec.encode("utf-8")
    except UnicodeEncodeError:
        raise NotFound(spec) from None  # a lone surrogate: no ref name or commit id holds one
    if spec == "HEAD":
        ref = store.head_ref()
        oid = store.ref(ref)
        if oid is None:
            raise NotFound("HEAD")
        return ref, store.reader.peel(oid)
    for ref in (spec, f"refs/heads/{spec}", f"refs/tags/{spec}"):
        if ref.startswith("refs/"):
            oid = store.ref(ref)
            if oid is not None:
                return ref, store.reader.peel(oid)
    commit = _commit_by_prefix(store, spec)
    if commit is None:
        raise NotFound(spec)
    return None, commit


def _commit_by_prefix(store, text):
    if not 4 <= len(text) <= 40 or any(c not in "0123456789abcdef" for c in text):
        return None
    low = bytes.fromhex(text + "0" * (len(text) % 2))
    high = bytes.fromhex(text + "f" * (len(text) % 2))
    rows = store.con.execute(
        "SELECT oid FROM commits WHERE oid >= ? AND oid <= ? ORDER BY oid LIMIT 2",
        (low, high + b"\xff" * (20 - len(high))),
    ).fetchall()
    return rows[0][0] if len(rows) == 1 else None  # unknown or ambiguous


def resolve(store, spec):
    """REF/PATH from a URL (`feature/x/src/app.py`) -> Resolved, trying the longest ref first,
    so a branch `feature/x` wins over a branch `feature`. Raises NotFound."""
    parts = [p for p in spec.split("/") if p]
    if not parts:
        raise NotFound(spec)
    for cut in range(len(parts), 0, -1):
        try:
            ref, commit = resolve_commit(store, "/".join(parts[:cut]))
        except NotFound:
            continue
        return Resolved(ref, commit, "/".join(parts[cut:]))
    raise NotFound(spec)


def _root_tree(store, commit):
    node = store.graph.node(commit)
    if node is None:
        raise NotFound(commit.hex())
    return node.tree


def _walk(store, commit, path):
    """-> (mode, oid) of `path` in `commit` ((tree mode, root) for "")."""
    mode, oid = MODE_TREE, _root_tree(store, commit)
    for part in [p for p in path.split("/") if p]:
        if mode & 0o170000 != MODE_TREE:
            raise NotFound(path)
        name = part.encode("utf-8", "surrogateescape")
        for entry_mode, entry_name, entry_oid in tree_entries(_read(store, oid, OBJ_TREE)):
            if entry_name == name:
                mode, oid = entry_mode, entry_oid
                break
        else:
            raise NotFound(path)
    return mode, oid


def _read(store, oid, expected):
    type_num, data = store.get(oid)
    if type_num != expected:
        raise NotFound(oid.hex())
    return data


def list_tree(store, commit, path=""):
    """The entries of the tree at `path` in `commit`: directories first, then by name, as forges
    list them. Sizes come from the object index, without reading any blob."""
    mode, oid = _walk(store, commit, path)
    if mode & 0o170000 != MODE_TREE:
        raise NotFound(path)
    prefix = f"{path.strip('/')}/" if path.strip("/") else ""
    entries = []
    for entry_mode, raw_name, entry_oid in tree_entries(_read(store, oid, OBJ_TREE)):
        kind = _kind(entry_mode)
        size = None
        if kind in ("blob", "symlink"):
            info = store.reader.info(entry_oid)
            size = info[1] if info else None
        name = _decode(raw_name)
        entries.append(Entry(name, prefix + name, entry_mode, entry_oid, kind, size))
    entries.sort(key=lambda e: (not e.is_tree, e.name))
    return entries


def read_blob(store, commit, path):
    """(Entry, bytes) of the file at `path` in `commit`. Raises NotFound for a missing path or a
    directory."""
    mode, oid = _walk(store, commit, path)
    kind = _kind(mode)
    if kind not in ("blob", "symlink"):
        raise NotFound(path)
    data = _read(store, oid, OBJ_BLOB)
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return Entry(name, path.strip("/"), mode, oid, kind, len(data)), data


def path_kind(store, commit, path):
    """"tree", "blob", "symlink" or "submodule" for `path` in `commit`; raises NotFound."""
    return _kind(_walk(store, commit, path)[0])


__all__ = ["NotFound", "Resolved", "Entry", "resolve", "resolve_commit", "list_tree", "read_blob", "path_kind"]
