"""Committing files without a work tree: a list of changes (write, delete, move) applied to a commit's
tree gives the new blobs and trees, exactly as `git update-index` + `git write-tree` would; then one
commit lands on a ref by compare-and-swap (repos/store/write.py), so a branch that moved in between
makes the whole write fail and leaves nothing behind. The API's contents routes and Forge's agent
workflow build on it. No Django.

Paths are git's: '/'-separated, relative, no empty, '.', '..' or '.git' component (nor the spellings
of '.git' that Windows and macOS file systems treat as it), no NUL. A directory that loses its last
entry disappears, as in git; writing below a file, or a file over a directory, is refused.
"""
import unicodedata
from dataclasses import dataclass, field

from .packformat import OBJ_BLOB, OBJ_COMMIT, OBJ_TREE, ZERO_OID, object_id
from .trees import MODE_GITLINK, MODE_TREE, is_tree, tree_mapping
from .write import RefMoved, Signature, commit_object, tree_object, write_and_move_ref

MODE_FILE = 0o100644
MODE_EXECUTABLE = 0o100755
MODE_SYMLINK = 0o120000
FILE_MODES = frozenset({MODE_FILE, MODE_EXECUTABLE, MODE_SYMLINK})

# Characters HFS+ ignores in names, so ".g\u200cit" is ".git" there (git's fsck refuses them too).
_HFS_IGNORED = dict.fromkeys(
    [0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
     0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0xFEFF])


class ChangeError(ValueError):
    """A change that cannot apply; `index` is its position in the list, `path` the path concerned.
    Nothing was written."""

    def __init__(self, index: int | None, path: str, message: str):
        super().__init__(message)
        self.index = index
        self.path = path


@dataclass(frozen=True)
class Change:
    """One change to a tree. Use the constructors: Change.write, Change.remove, Change.move."""

    path: str
    content: bytes | None = None      # the new content (None: delete, or a move keeping its content)
    mode: int | None = None           # None: keep the existing file's mode (a new file: 100644)
    delete: bool = False
    move_from: str | None = None

    @classmethod
    def write(cls, path: str, content: bytes, mode: int | None = None) -> "Change":
        return cls(path, content, mode)

    @classmethod
    def remove(cls, path: str) -> "Change":
        return cls(path, delete=True)

    @classmethod
    def move(cls, source: str, path: str, content: bytes | None = None, mode: int | None = None) -> "Change":
        return cls(path, content, mode, move_from=source)


@dataclass
class Edited:
    """The result of applying changes: the new root tree, every new object ({oid: (type, raw)}),
    and the blob and mode now at each written path."""

    tree: bytes
    objects: dict
    written: dict = field(default_factory=dict)   # path -> (mode, blob oid)


@dataclass
class Committed:
    commit: bytes
    tree: bytes
    parents: tuple
    ref: str
    old: bytes | None
    written: dict             # path -> (mode, blob oid)
    new_head: str | None      # the ref HEAD now names, when this gave an empty repository its first branch

    @property
    def updates(self):
        """[(ref, old, new)] as repos.services.refs_written takes them."""
        return [(self.ref, self.old or ZERO_OID, self.commit)]


# --- paths --------------------------------------------------------------------------------------------

def _is_dotgit(name: str) -> bool:
    folded = name.translate(_HFS_IGNORED).lower()
    if folded == ".git":
        return True
    # NTFS: trailing dots and spaces are dropped, and the 8.3 short name is GIT~1.
    return folded.rstrip(". ") in (".git", "git~1")


def path_error(path) -> str | None:
    """Why `path` cannot name a file in a git tree, or None."""
    if not isinstance(path, str) or not path:
        return "the path is empty"
    if "\0" in path:
        return "a path cannot contain a NUL character"
    if path.startswith("/"):
        return "a path cannot begin with '/'"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "a path must be valid UTF-8"
    for part in path.split("/"):
        if part == "":
            return "a path cannot have an empty component ('//' or a trailing '/')"
        if part in (".", ".."):
            return f"a path cannot have a {part!r} component"
        if _is_dotgit(unicodedata.normalize("NFC", part)):
            return "a path cannot have a '.git' component"
    return None


def _parts(path: str) -> list[bytes]:
    return [part.encode("utf-8") for part in path.split("/")]


# --- the tree being edited ----------------------------------------------------------------------------

class _Dir:
    """A directory being edited: its entries (name -> (mode, oid)) and the subdirectories opened
    for editing (name -> _Dir), which replace their entries when the tree is written."""

    def __init__(self, entries):
        self.entries = dict(entries)
        self.opened = {}

    def is_empty(self):
        return all(name in self.opened and self.opened[name].is_empty() for name in self.entries)


class _Editor:
    def __init__(self, store, root_tree):
        self.store = store
        self.root = _Dir(self._read_tree(root_tree) if root_tree else {})

    def _read_tree(self, oid):
        type_num, raw = self.store.get(oid)
        if type_num != OBJ_TREE:
            raise ValueError(f"{oid.hex()} is not a tree")
        return tree_mapping(raw)

    def _open(self, directory, name):
        sub = directory.opened.get(name)
        if sub is None:
            sub = directory.opened[name] = _Dir(self._read_tree(directory.entries[name][1]))
        return sub

    def _parent(self, index, path, create):
        """The _Dir holding `path`'s last component (made if `create`); None if missing."""
        directory = self.root
        parts = _parts(path)
        for depth, name in enumerate(parts[:-1]):
            entry = directory.entries.get(name)
            if entry is None:
                if not create:
                    return None, parts[-1]
                directory.entries[name] = (MODE_TREE, None)
                directory.opened[name] = _Dir({})
            elif not is_tree(entry[0]):
                here = "/".join(p.decode() for p in parts[:depth + 1])
                kind = "a submodule" if entry[0] == MODE_GITLINK else "a file"
                raise ChangeError(index, path, f"{path}: {here} is {kind}, not a directory")
            directory = self._open(directory, name)
        return directory, parts[-1]

    def take(self, index, path):
        """Remove the file at `path`; -> its (mode, oid)."""
        directory, name = self._parent(index, path, create=False)
        entry = directory.entries.get(name) if directory is not None else None
        if entry is None or (is_tree(entry[0]) and self._open(directory, name).is_empty()):
            raise ChangeError(index, path, f"{path} does not exist")
        if is_tree(entry[0]):
            raise ChangeError(index, path, f"{path} is a directory, not a file")
        del directory.entries[name]
        return entry

    def mode_of(self, path):
        directory, name = self._find_quietly(path)
        entry = directory.entries.get(name) if directory is not None else None
        return entry[0] if entry and not is_tree(entry[0]) else None

    def _find_quietly(self, path):
        directory = self.root
        parts = _parts(path)
        for name in parts[:-1]:
            entry = directory.entries.get(name)
            if entry is None or not is_tree(entry[0]):
                return None, parts[-1]
            directory = self._open(directory, name)
        return directory, parts[-1]

    def put(self, index, path, mode, oid):
        directory, name = self._parent(index, path, create=True)
        entry = directory.entries.get(name)
        if entry is not None and is_tree(entry[0]):
            if not self._open(directory, name).is_empty():
                raise ChangeError(index, path, f"{path} is a directory")
            directory.opened.pop(name)
        directory.entries[name] = (mode, oid)

    def write(self, objects):
        return self._write_dir(self.root, objects)

    def _write_dir(self, directory, objects):
        entries = []
        for name, (mode, oid) in directory.entries.items():
            if name in directory.opened:
                sub = directory.opened[name]
                if sub.is_empty():
                    continue          # git keeps no empty directories
                oid = self._write_dir(sub, objects)
            entries.append((mode, name, oid))
        raw = tree_object(entries)
        oid = object_id(OBJ_TREE, raw)
        objects[oid] = (OBJ_TREE, raw)
        return oid


def entry_at(store, tree: bytes | None, path: str):
    """(mode, oid) of `path` in `tree` (None: the empty tree), or None if there is nothing there."""
    if tree is None or path_error(path):
        return None
    mode, oid = MODE_TREE, tree
    for name in _parts(path):
        if not is_tree(mode):
            return None
        type_num, raw = store.get(oid)
        if type_num != OBJ_TREE:
            return None
        found = tree_mapping(raw).get(name)
        if found is None:
            return None
        mode, oid = found
    return mode, oid


def apply_changes(store, base_tree: bytes | None, changes) -> Edited:
    """Apply `changes` (Change list) to `base_tree` (None: the empty tree). Raises ChangeError for
    the first change that cannot apply (bad path, missing source, file/directory clash, a path
    changed twice). Deletes and the sources of moves are applied first, then the writes, so the
    order of the list does not matter."""
    changes = list(changes)
    touched = {}
    for index, change in enumerate(changes):
        for path in (change.path, change.move_from):
            if path is None:
                continue
            error = path_error(path)
            if error:
                raise ChangeError(index, path if isinstance(path, str) else "", f"{path!r}: {error}")
            if path in touched:
                raise ChangeError(index, path, f"{path} is changed twice (changes {touched[path]} and {index})")
            touched[path] = index
        if change.delete and (change.content is not None or change.move_from is not None):
            raise ChangeError(index, change.path, f"{change.path}: a delete has no content and no source")
        if not change.delete and change.content is None and change.move_from is None:
            raise ChangeError(index, change.path, f"{change.path}: no content given")
        if change.mode is not None and change.mode not in FILE_MODES:
            raise ChangeError(index, change.path, f"{change.path}: mode {change.mode:o} is not 100644, 100755 "
                                                  "or 120000")

    editor = _Editor(store, base_tree)
    objects = {}
    moved = {}
    for index, change in enumerate(changes):
        if change.delete:
            editor.take(index, change.path)
        elif change.move_from is not None:
            moved[index] = editor.take(index, change.move_from)
    written = {}
    for index, change in enumerate(changes):
        if change.delete:
            continue
        if change.content is not None:
            blob = object_id(OBJ_BLOB, change.content)
            objects[blob] = (OBJ_BLOB, change.content)
            old_mode = moved[index][0] if index in moved else editor.mode_of(change.path)
        else:
            old_mode, blob = moved[index]
        mode = change.mode or (old_mode if old_mode in FILE_MODES else MODE_FILE)
        editor.put(index, change.path, mode, blob)
        written[change.path] = (mode, blob)
    tree = editor.write(objects)
    return Edited(tree, objects, written)


def commit_changes(store, *, ref: str, expected_tip: bytes | None, base: bytes | None, changes, message: str,
                   author: Signature, committer: Signature | None = None, tmp_dir: str | None = None) -> Committed:
    """Commit `changes` on top of commit `base` (None: a root commit, as in an empty repository)
    and move `ref` from `expected_tip` (None: the ref must not exist) to the new commit, in one
    transaction. Raises ChangeError (a change cannot apply), RefMoved (`ref` is not at
    `expected_tip`), WriteRefused; in every case nothing at all was written."""
    if store.ref(ref) != expected_tip:
        raise RefMoved(f"{ref} moved while this was being written; nothing was changed")
    base_tree = None
    if base is not None:
        node = store.graph.node(base)
        if node is None:
            raise ValueError(f"{base.hex()} is not a commit of this repository")
        base_tree = node.tree
    edited = apply_changes(store, base_tree, changes)
    parents = (base,) if base is not None else ()
    raw = commit_object(edited.tree, parents, author, committer or author, message)
    commit = object_id(OBJ_COMMIT, raw)
    objects = dict(edited.objects)
    objects[commit] = (OBJ_COMMIT, raw)
    outcome = write_and_move_ref(store, objects, ref, expected_tip, commit, tmp_dir)
    return Committed(commit, edited.tree, parents, ref, expected_tip, edited.written, outcome.new_head)


__all__ = [
    "MODE_EXECUTABLE",
    "MODE_FILE",
    "MODE_SYMLINK",
    "Change",
    "ChangeError",
    "Committed",
    "Edited",
    "apply_changes",
    "commit_changes",
    "entry_at",
    "path_error",
]
