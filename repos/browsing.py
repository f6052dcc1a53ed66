"""Selectors for repository pages: what a page shows, read from the store, with whatever depends
only on object ids kept in the fragment cache. Views call these; templates get plain data."""
from dataclasses import dataclass

from repos.fragments import cached
from repos.render.languages import language_stats
from repos.store import history
from repos.store.browse import NotFound, list_tree, resolve_commit
from repos.store.packformat import OBJ_TAG
from repos.store.trees import TreeCache, is_tree

BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"


@dataclass(frozen=True)
class RefName:
    name: str          # short name: "main", "feature/x", "v1.0"
    kind: str          # "branch" or "tag"
    oid: bytes         # what the ref points at (a tag object for annotated tags)
    commit: bytes      # the commit it ends at


def refs(store):
    """(branches, tags): RefName lists sorted by name. Reading the refs table is cheap; what is
    built from it is kept until the refs change."""
    return _refs_state(store)[1:]


def _refs_state(store):
    """(a fingerprint of the refs, branches, tags)."""
    rows = tuple(store.refs())
    state = hash(rows)
    return (state, *cached(("refs", store.path, state), lambda: _ref_lists(rows)))


def _ref_lists(rows):
    branches, tags = [], []
    for name, oid, peeled in rows:
        if name.startswith(BRANCH_PREFIX):
            branches.append(RefName(name[len(BRANCH_PREFIX):], "branch", oid, peeled or oid))
        elif name.startswith(TAG_PREFIX):
            tags.append(RefName(name[len(TAG_PREFIX):], "tag", oid, peeled or oid))
    return branches, tags


SWITCHER_SIZE = 12


def switcher(repo, store):
    """What the branch/tag menu offers: the default branch and the most recently changed branches
    and tags, a dozen of each (a repository may have thousands; the full lists have pages)."""
    state, branches, tags = _refs_state(store)
    return cached(("switcher", store.path, repo.default_branch, state),
                  lambda: _switcher(repo, store, branches, tags))


def _switcher(repo, store, branches, tags):
    times = dict(store.con.execute("SELECT oid, committer_time FROM commits WHERE oid IN (%s)" % ",".join(
        "?" * len({r.commit for r in branches + tags})), [*{r.commit for r in branches + tags}]).fetchall()) \
        if branches or tags else {}

    def recent(items, keep=None):
        ordered = sorted(items, key=lambda r: (r.name != keep, -times.get(r.commit, 0), r.name))
        return ordered[:SWITCHER_SIZE]
    return {"branches": recent(branches, repo.default_branch), "tags": recent(tags),
            "more_branches": len(branches) > SWITCHER_SIZE, "more_tags": len(tags) > SWITCHER_SIZE}


def short_ref(ref):
    for prefix in (BRANCH_PREFIX, TAG_PREFIX):
        if ref and ref.startswith(prefix):
            return ref[len(prefix):]
    return ref


def default_ref(repo, store):
    """(short name, commit) of the branch HEAD names; None for an empty repository."""
    try:
        ref, commit = resolve_commit(store, "HEAD")
    except NotFound:
        branches, _ = refs(store)
        if not branches:
            return None
        preferred = next((b for b in branches if b.name == repo.default_branch), branches[0])
        return preferred.name, preferred.commit
    return short_ref(ref), commit


@dataclass(frozen=True)
class TreeRow:
    entry: object              # repos.store.browse.Entry
    last: object | None        # history.CommitInfo of the last commit touching it


def tree_rows(repo, store, commit, path):
    """The tree at `path` in `commit`, directories first, each with its last commit."""
    def build():
        entries = list_tree(store, commit, path)
        last = history.last_commits(store, commit, path, [e.name for e in entries])
        return [TreeRow(e, last.get(e.name)) for e in entries]
    return cached(("tree", repo.store_id, commit, path), build)


def languages(repo, store, commit):
    """Language shares by bytes over every file at `commit`."""
    def build():
        node = store.graph.node(commit)
        trees = TreeCache(store.reader)
        files = []
        pending = [(node.tree, "")]
        while pending:
            oid, prefix = pending.pop()
            for name, (mode, child) in trees.entries(oid).items():
                path = prefix + name.decode("utf-8", "surrogateescape")
                if is_tree(mode):
                    pending.append((child, path + "/"))
                elif mode & 0o170000 == 0o100000:
                    info = store.reader.info(child)
                    if info:
                        files.append((path, info[1]))
        return language_stats(files)
    return cached(("languages", repo.store_id, commit), build)


def counts(repo, store, commit):
    branches, tags = refs(store)
    total = cached(("count", repo.store_id, commit), lambda: history.count_commits(store, commit))
    return {"commits": total, "branches": len(branches), "tags": len(tags)}


@dataclass(frozen=True)
class TagInfo:
    ref: RefName
    annotated: bool
    tagger: str
    tagger_time: int | None
    message: str
    commit: object             # history.CommitInfo or None (a tag of a tree or blob)


def tag_details(store, tag_refs):
    out = []
    for ref in tag_refs:
        annotated, tagger, when, message = False, "", None, ""
        type_num, raw = store.get(ref.oid)
        if type_num == OBJ_TAG:
            annotated = True
            head, _, body = raw.partition(b"\n\n")
            message = body.decode("utf-8", "replace").strip()
            for line in head.split(b"\n"):
                if line.startswith(b"tagger "):
                    tagger, when = _person(line[len(b"tagger "):])
        info = history.commit_info(store, ref.commit)
        out.append(TagInfo(ref, annotated, tagger, when, message, info))
    out.sort(key=lambda t: -(t.tagger_time or (t.commit.committer_time if t.commit else 0)))
    return out


def _person(raw):
    text = raw.decode("utf-8", "replace")
    name, _, rest = text.partition(" <")
    fields = rest.rpartition("> ")[2].split()
    try:
        return name, int(fields[0])
    except (IndexError, ValueError):
        return name, None


@dataclass(frozen=True)
class BranchInfo:
    ref: RefName
    commit: object             # history.CommitInfo
    ahead: int
    behind: int
    is_default: bool


def branch_details(repo, store, branches, default_name, *, page=1, per_page=50):
    """(BranchInfo rows of one page, whether there are more): the default branch first, then the
    most recently changed. Ahead/behind counts are kept per pair of commits."""
    default = next((b for b in branches if b.name == default_name), None)
    infos = {c.oid: c for c in history.commit_infos(store, list({b.commit for b in branches}))}
    ordered = sorted(branches, key=lambda b: (b is not default, -(infos[b.commit].committer_time
                                                                     if b.commit in infos else 0), b.name))
    chosen = ordered[(page - 1) * per_page: page * per_page]
    out = []
    for b in chosen:
        ahead = behind = 0
        if default and b is not default:
            ahead, behind = cached(("ahead-behind", repo.store_id, default.commit, b.commit),
                                   lambda b=b: history.ahead_behind(store, default.commit, b.commit))
        out.append(BranchInfo(b, infos.get(b.commit), ahead, behind, b is default))
    return out, len(ordered) > page * per_page
