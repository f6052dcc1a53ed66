"""git-upload-pack over smart HTTP (stateless RPC), protocol v0/v1 and v2."""
from repos.store.objectset import FilterError, ObjectFilter

from .fetch import (
    INFINITE_DEPTH, FetchRequest, common_haves, objects_for, pack_stream, parse_oid, plan_shallow,
    ready_to_give_up,
)
from .pktline import DELIM, DELIM_PKT, FLUSH, FLUSH_PKT, PktReader, ProtocolError, Sideband, pkt

AGENT = "agent=forge/1.0"
V0_CAPABILITIES = (
    "multi_ack thin-pack side-band side-band-64k ofs-delta shallow deepen-since deepen-not"
    " deepen-relative no-progress include-tag multi_ack_detailed allow-tip-sha1-in-want"
    " allow-reachable-sha1-in-want no-done filter object-format=sha1 " + AGENT
)
V2_CAPABILITIES = [
    "version 2", AGENT, "ls-refs=unborn", "fetch=shallow wait-for-done filter", "server-option",
    "object-format=sha1", "object-info",
]
ZERO_HEX = "0" * 40


def advertise_v0(store, capabilities, with_head=True):
    """The v0 ref advertisement: HEAD first (with the symref), every ref, peeled tags."""
    refs = store.refs()
    lines = []
    head_ref = store.head_ref()
    head_oid = store.ref(head_ref)
    caps = capabilities
    if with_head and head_oid is not None:
        caps += f" symref=HEAD:{head_ref}"
        lines.append(f"{head_oid.hex()} HEAD")
    for name, oid, peeled in refs:
        lines.append(f"{oid.hex()} {name}")
        if peeled is not None:
            lines.append(f"{peeled.hex()} {name}^{{}}")
    if not lines:
        lines.append(f"{ZERO_HEX} capabilities^{{}}")
    out = [pkt(lines[0] + "\0" + caps + "\n")]
    out += [pkt(line + "\n") for line in lines[1:]]
    out.append(FLUSH_PKT)
    return b"".join(out)


def advertise_v2():
    return b"".join(pkt(line + "\n") for line in V2_CAPABILITIES) + FLUSH_PKT


def _progress_sink(sideband, enabled):
    pending = []

    def progress(text):
        if enabled:
            pending.append(text)

    def drain():
        out = b"".join(sideband.packets(2, t.encode()) for t in pending)
        pending.clear()
        return out

    return progress, drain


def _packfile(store, req, objects, sideband):
    """Yield the pack, wrapped in side-band packets when the client asked for them."""
    if sideband is None:
        yield from pack_stream(store, req, objects, None)
        return
    progress, drain = _progress_sink(sideband, not req.no_progress)
    for chunk in pack_stream(store, req, objects, progress):
        head = drain()
        yield head + sideband.packets(1, chunk) if head else sideband.packets(1, chunk)
    yield drain() + FLUSH_PKT


def _shallow_lines(plan):
    return [pkt(f"shallow {o.hex()}\n") for o in plan.shallow] + [pkt(f"unshallow {o.hex()}\n") for o in plan.unshallow]


def _filter_spec(raw):
    """A filter line's spec, checked now: refused later, while the pack streams, the client would
    get a cut-off response instead of an ERR packet."""
    spec = raw.decode("utf-8", "replace")
    try:
        ObjectFilter.parse(spec)
    except FilterError as e:
        raise ProtocolError(str(e)) from None
    return spec


def _parse_deepen(req, line):
    if line.startswith(b"deepen "):
        try:
            req.depth = int(line[7:])
        except ValueError:
            raise ProtocolError(f"invalid deepen: {line!r}") from None
        if req.depth <= 0:
            raise ProtocolError("invalid deepen depth")
        req.depth = min(req.depth, INFINITE_DEPTH)
    elif line.startswith(b"deepen-since "):
        try:
            req.deepen_since = int(line[13:])
        except ValueError:
            raise ProtocolError(f"invalid deepen-since: {line!r}") from None
    elif line.startswith(b"deepen-not "):
        req.deepen_not.append(line[11:].decode("utf-8", "replace"))
    elif line == b"deepen-relative":
        req.deepen_relative = True
    else:
        return False
    return True


# -- protocol v0 / v1 ------------------------------------------------------------------------------

def serve_v0(store, stream):
    reader = PktReader(stream)
    req = FetchRequest()
    caps = set()
    lines, _ = reader.until_flush()
    for i, line in enumerate(lines):
        if line.startswith(b"want "):
            parts = line[5:].split(b" ")
            req.wants.append(parse_oid(parts[0]))
            if i == 0 or not caps:
                caps.update(p.decode("utf-8", "replace") for p in parts[1:])
        elif line.startswith(b"shallow "):
            req.client_shallows.append(parse_oid(line[8:]))
        elif line.startswith(b"filter "):
            req.filter_spec = _filter_spec(line[7:])
        elif not _parse_deepen(req, line):
            raise ProtocolError(f"unexpected line in wants: {line[:60]!r}")
    if not req.wants:
        return iter([])
    req.thin = "thin-pack" in caps
    req.ofs_delta = "ofs-delta" in caps
    req.include_tag = "include-tag" in caps
    req.no_progress = "no-progress" in caps
    req.deepen_relative = req.deepen_relative or "deepen-relative" in caps  # a capability in v0, a line in v2
    multi_ack = 2 if "multi_ack_detailed" in caps else 1 if "multi_ack" in caps else 0
    no_done = "no-done" in caps and multi_ack == 2
    sideband = Sideband(large=True) if "side-band-64k" in caps else Sideband(large=False) if "side-band" in caps else None

    # Haves: zero or more flush-terminated rounds, ending with "done" or the end of the request.
    haves_seen = []
    done = False
    negotiating = False  # False: the request ended with the wants (a deepen request's first round)
    while True:
        data = reader.read()
        if data is None:
            break
        negotiating = True
        if data is FLUSH:
            continue
        if data is DELIM:
            raise ProtocolError("unexpected delim-pkt")
        line = data.rstrip(b"\n")
        if line == b"done":
            done = True
            break
        if line.startswith(b"have "):
            haves_seen.append(parse_oid(line[5:]))
        else:
            raise ProtocolError(f"expected have or done, got {line[:60]!r}")
    req.haves = haves_seen

    def respond():
        want_commits = [w for w in req.wants if store.graph.node(w) is not None]
        plan = plan_shallow(store, req, want_commits)
        if req.deepens:  # a shallow client that is not deepening expects no shallow list in v0
            yield b"".join(_shallow_lines(plan)) + FLUSH_PKT
        if not negotiating:
            return
        common = common_haves(store, req.haves)
        out = []
        last = common[-1].hex() if common else None
        for oid in common:
            if multi_ack == 2:
                out.append(pkt(f"ACK {oid.hex()} common\n"))
            elif multi_ack:
                out.append(pkt(f"ACK {oid.hex()} continue\n"))
        ready = False
        if not done:
            if multi_ack == 2 and common and ready_to_give_up(store, want_commits, common):
                out.append(pkt(f"ACK {last} ready\n"))
                ready = True
            out.append(pkt("NAK\n"))
            if not (no_done and ready):
                yield b"".join(out)
                return
            out.append(pkt(f"ACK {last}\n"))
        elif common and multi_ack:
            out.append(pkt(f"ACK {last}\n"))
        elif common:
            out.append(pkt(f"ACK {last}\n"))
        else:
            out.append(pkt("NAK\n"))
        yield b"".join(out)
        objects = objects_for(store, req, plan, common)
        yield from _packfile(store, req, objects, sideband)

    return respond()


# -- protocol v2 -----------------------------------------------------------------------------------

def serve_v2(store, stream):
    reader = PktReader(stream)
    first = reader.read()
    if first is None or first is FLUSH:
        return iter([])
    if not isinstance(first, bytes) or not first.startswith(b"command="):
        raise ProtocolError("expected a command")
    command = first[8:].rstrip(b"\n").decode("utf-8", "replace")
    caps, term = reader.until_flush()
    args = []
    if term is DELIM:
        args, term = reader.until_flush()
    for cap in caps:
        if cap.startswith(b"object-format=") and cap != b"object-format=sha1":
            raise ProtocolError("unsupported object-format")
    if command == "ls-refs":
        return iter([_ls_refs(store, args)])
    if command == "fetch":
        return _fetch_v2(store, args)
    if command == "object-info":
        return iter([_object_info(store, args)])
    raise ProtocolError(f"unknown command '{command}'")


def _ls_refs(store, args):
    symrefs = peel = unborn = False
    prefixes = []
    for arg in args:
        if arg == b"symrefs":
            symrefs = True
        elif arg == b"peel":
            peel = True
        elif arg == b"unborn":
            unborn = True
        elif arg.startswith(b"ref-prefix "):
            prefixes.append(arg[11:].decode("utf-8", "replace"))
    wanted = lambda name: not prefixes or any(name.startswith(p) for p in prefixes)  # noqa: E731
    out = []
    head_ref = store.head_ref()
    if wanted("HEAD"):
        head_oid = store.ref(head_ref)
        if head_oid is not None:
            line = f"{head_oid.hex()} HEAD"
            if symrefs:
                line += f" symref-target:{head_ref}"
            out.append(pkt(line + "\n"))
        elif unborn:
            out.append(pkt(f"unborn HEAD symref-target:{head_ref}\n" if symrefs else "unborn HEAD\n"))
    for name, oid, peeled in store.refs():
        if not wanted(name):
            continue
        line = f"{oid.hex()} {name}"
        if peel and peeled is not None:
            line += f" peeled:{peeled.hex()}"
        out.append(pkt(line + "\n"))
    out.append(FLUSH_PKT)
    return b"".join(out)


def _object_info(store, args):
    want_size = False
    oids = []
    for arg in args:
        if arg == b"size":
            want_size = True
        elif arg.startswith(b"oid "):
            oids.append(parse_oid(arg[4:]))
    out = []
    if want_size:
        out.append(pkt("size\n"))
    for oid in oids:
        info = store.reader.info(oid)
        if info is None:
            raise ProtocolError(f"object-info: unknown object {oid.hex()}")
        out.append(pkt(f"{oid.hex()} {info[1]}\n" if want_size else f"{oid.hex()}\n"))
    out.append(FLUSH_PKT)
    return b"".join(out)


def _fetch_v2(store, args):
    req = FetchRequest(ofs_delta=False)
    wait_for_done = False
    for arg in args:
        if arg.startswith(b"want "):
            req.wants.append(parse_oid(arg[5:]))
        elif arg.startswith(b"have "):
            req.haves.append(parse_oid(arg[5:]))
        elif arg.startswith(b"shallow "):
            req.client_shallows.append(parse_oid(arg[8:]))
        elif arg.startswith(b"filter "):
            req.filter_spec = _filter_spec(arg[7:])
        elif arg == b"done":
            req.done = True
        elif arg == b"wait-for-done":
            wait_for_done = True
        elif arg == b"thin-pack":
            req.thin = True
        elif arg == b"ofs-delta":
            req.ofs_delta = True
        elif arg == b"include-tag":
            req.include_tag = True
        elif arg == b"no-progress":
            req.no_progress = True
        elif arg.startswith(b"want-ref ") or arg.startswith(b"packfile-uris "):
            raise ProtocolError(f"unsupported fetch argument {arg.split(b' ')[0].decode()}")
        elif arg == b"sideband-all":
            raise ProtocolError("sideband-all is not supported")
        elif not _parse_deepen(req, arg):
            raise ProtocolError(f"unexpected fetch argument {arg[:60]!r}")

    def respond():
        want_commits = [w for w in req.wants if store.graph.node(w) is not None]
        common = common_haves(store, req.haves)
        if not req.done:
            out = [pkt("acknowledgments\n")]
            out += [pkt(f"ACK {oid.hex()}\n") for oid in common] or [pkt("NAK\n")]
            if not wait_for_done and ready_to_give_up(store, want_commits, common):
                out.append(pkt("ready\n"))
                out.append(DELIM_PKT)
                yield b"".join(out)
            else:
                out.append(FLUSH_PKT)
                yield b"".join(out)
                return
        plan = plan_shallow(store, req, want_commits)
        if req.client_shallows or req.deepens:
            yield pkt("shallow-info\n") + b"".join(_shallow_lines(plan)) + DELIM_PKT
        objects = objects_for(store, req, plan, common)
        yield pkt("packfile\n")
        yield from _packfile(store, req, objects, Sideband(large=True))

    return respond()
