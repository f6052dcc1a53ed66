"""What a fetch sends, as git's upload-pack decides it: wants, common haves, shallow boundaries
(deepen, deepen-since, deepen-not, deepen-relative, unshallow), include-tag and filters.
Protocol-neutral: upload_pack.py speaks v0 and v2 around it."""
from collections import deque
from dataclasses import dataclass, field

from repos.store.objectset import ObjectEnumerator, ObjectFilter
from repos.store.packformat import OBJ_COMMIT, OBJ_TAG
from repos.store.packgen import stream_selected, stream_whole, write_pack

from .pktline import ProtocolError

INFINITE_DEPTH = 0x7FFFFFFF


@dataclass
class FetchRequest:
    wants: list = field(default_factory=list)
    haves: list = field(default_factory=list)
    client_shallows: list = field(default_factory=list)
    depth: int = 0
    deepen_since: int | None = None
    deepen_not: list = field(default_factory=list)
    deepen_relative: bool = False
    filter_spec: str | None = None
    thin: bool = False
    ofs_delta: bool = False
    include_tag: bool = False
    no_progress: bool = False
    done: bool = False

    @property
    def deepens(self):
        return bool(self.depth or self.deepen_since is not None or self.deepen_not)


def parse_oid(text):
    try:
        oid = bytes.fromhex(text.decode() if isinstance(text, bytes) else text)
    except ValueError:
        oid = b""
    if len(oid) != 20:
        raise ProtocolError(f"invalid object id {text!r}")
    return oid


def common_haves(store, haves):
    """The haves we also have, as commits, in the order given."""
    return [oid for oid in haves if store.graph.node(oid) is not None]


def ready_to_give_up(store, wants, common):
    """True when every wanted commit reaches one of the common commits (upload-pack's ok_to_give_up)."""
    if not common:
        return False
    for want in wants:
        node = store.graph.node(store.reader.peel(want))
        if node is None:
            continue
        if not any(store.graph.is_ancestor(c, node.oid) for c in common[-32:]):
            return False
    return True


@dataclass
class ShallowPlan:
    shallow: list = field(default_factory=list)     # new boundaries to tell the client
    unshallow: list = field(default_factory=list)   # client boundaries that go away
    grafts: frozenset = frozenset()                 # commits walked as if parentless
    extra_wants: list = field(default_factory=list)


def _depth_boundaries(store, starts, depth):
    """BFS by shortest distance: commits closer than `depth` are kept, those at depth-1 are the cut."""
    dist = {}
    queue = deque()
    for s in starts:
        if store.graph.node(s) is not None and s not in dist:
            dist[s] = 1
            queue.append(s)
    inside, boundary = set(), []
    while queue:
        oid = queue.popleft()
        d = dist[oid]
        node = store.graph.node(oid)
        if d >= depth:
            boundary.append(oid)  # as git does, even a root commit at the cut is reported shallow
            continue
        inside.add(oid)
        for p in node.parents:
            if p not in dist and store.graph.node(p) is not None:
                dist[p] = d + 1
                queue.append(p)
    return inside, [b for b in boundary if b not in inside]


def _rev_list_boundaries(store, wants, since=None, not_refs=()):
    """deepen-since / deepen-not: commits kept by the rule; the cut is kept commits with a parent
    that is not kept."""
    excluded = set(store.graph.walk_excluding(not_refs, ())) if not_refs else set()
    kept = set()
    stack = [w for w in wants if store.graph.node(w) is not None]
    while stack:
        oid = stack.pop()
        if oid in kept or oid in excluded:
            continue
        node = store.graph.node(oid)
        if since is not None and node.time < since:
            continue
        kept.add(oid)
        stack.extend(p for p in node.parents if store.graph.node(p) is not None)
    if not kept:
        raise ProtocolError("no commits selected for shallow requests")
    boundary = [oid for oid in kept if any(p not in kept for p in store.graph.node(oid).parents)]
    return kept, boundary


def plan_shallow(store, req, want_commits):
    client = set(req.client_shallows)
    plan = ShallowPlan()
    if not req.deepens:
        plan.grafts = frozenset(client)
        return plan
    if req.depth and (req.deepen_since is not None or req.deepen_not):
        raise ProtocolError("deepen and deepen-since (or deepen-not) cannot be used together")
    if req.depth == INFINITE_DEPTH and not req.deepen_relative:
        inside, boundary = set(client), []
    elif req.depth and req.deepen_relative:
        inside, boundary = _depth_boundaries(store, list(client), req.depth + 1)
    elif req.depth:
        inside, boundary = _depth_boundaries(store, want_commits, req.depth)
    else:
        not_refs = [store.ref(r) or store.ref("refs/heads/" + r) or store.ref("refs/tags/" + r)
                    for r in req.deepen_not]
        if any(r is None for r in not_refs):
            raise ProtocolError("git upload-pack: deepen-not is not a ref")
        inside, boundary = _rev_list_boundaries(store, want_commits, req.deepen_since, not_refs)
    plan.shallow = [b for b in boundary if b not in client]
    plan.unshallow = [c for c in req.client_shallows if c in inside and c not in boundary]
    for c in plan.unshallow:
        plan.extra_wants.extend(store.graph.node(c).parents)
    plan.grafts = frozenset(client | set(boundary))
    return plan


def objects_for(store, req, shallow_plan, common):
    """The ObjectSet to send, or a WholeStore when the whole store (perhaps filtered) is."""
    object_filter = ObjectFilter.parse(req.filter_spec)
    want_commits, explicit = [], []
    for oid in req.wants:
        while True:
            info = store.reader.info(oid)
            if info is None:
                raise ProtocolError(f"not our ref {oid.hex()}")
            if info[0] == OBJ_TAG:
                explicit.append((oid, OBJ_TAG))
                oid = store.reader.tag_target(oid)
                continue
            if info[0] == OBJ_COMMIT:
                want_commits.append(oid)
            else:
                explicit.append((oid, info[0]))
            break
    want_commits += shallow_plan.extra_wants

    if (not common and not req.client_shallows and not req.deepens and req.ofs_delta
            and not explicit_non_tags(explicit) and store.is_clean()
            and _wants_everything(store, req.wants)):
        # Everything stored is reachable and wanted: no history walk, whatever the filter
        # says about types and sizes.
        if object_filter is None:
            return WholeStore()
        rule = object_filter.by_type_and_size()
        if rule is not None:
            return WholeStore(*rule)

    commits = store.graph.walk_excluding(want_commits, common, grafts=shallow_plan.grafts)
    interesting = set(commits)
    enum = ObjectEnumerator(store, object_filter, want_client_bases=req.thin and object_filter is None)
    enum.add_commits(commits, interesting, grafts=shallow_plan.grafts)
    for oid, type_num in explicit:
        enum.add_explicit(oid, type_num)
    if req.include_tag:
        for name, oid, peeled in store.refs():
            if name.startswith("refs/tags/") and peeled is not None and peeled in enum.result.seen:
                tag = oid
                while tag is not None and store.reader.info(tag)[0] == OBJ_TAG and enum.result.add(tag):
                    tag = store.reader.tag_target(tag)
    return enum.result


def explicit_non_tags(explicit):
    return any(t != OBJ_TAG for _, t in explicit)


def _wants_everything(store, wants):
    tips = {oid for _, oid, _ in store.refs()}
    return tips <= set(wants)


@dataclass
class WholeStore:
    """The fetch is the whole (clean) store, narrowed by `condition` and `keeps` when filtered."""
    condition: str | None = None
    keeps: object = None


def pack_stream(store, req, objects, progress):
    if isinstance(objects, WholeStore):
        if objects.condition is None:
            return stream_whole(store, progress)
        return stream_selected(store, objects.condition, objects.keeps, progress=progress)
    return write_pack(store, objects, ofs_delta=req.ofs_delta, thin=req.thin, progress=progress)
