"""git-receive-pack over smart HTTP: commands, push options, the pack, and the status report.

The pack is spooled to a file (bounded memory whatever its size), checked object by object outside
any lock, and only then landed: pack, objects, commit index and every ref in one transaction."""
import os
import re
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field

from repos.refnames import valid_ref_name
from repos.store.ingest import IngestError, paused_gc, return_memory_to_os
from repos.store.push import PushOutcome, RefUpdate
from repos.store.write import storage_trouble

from .fetch import parse_oid
from .pktline import FLUSH, FLUSH_PKT, PktReader, ProtocolError, Sideband, pkt
from .upload_pack import AGENT

CAPABILITIES = (
    "report-status report-status-v2 delete-refs side-band-64k quiet atomic ofs-delta push-options"
    " object-format=sha1 " + AGENT
)


@dataclass
class PushRequest:
    updates: list = field(default_factory=list)
    capabilities: set = field(default_factory=set)
    options: list = field(default_factory=list)
    shallows: list = field(default_factory=list)


def read_commands(reader):
    req = PushRequest()
    first = True
    while True:
        data = reader.read()
        if data is None:
            if first:
                return req
            raise ProtocolError("unexpected end of push commands")
        if data is FLUSH:
            break
        if not isinstance(data, bytes):
            raise ProtocolError("unexpected special packet in push commands")
        line = data.rstrip(b"\n")
        if line.startswith(b"shallow "):
            req.shallows.append(parse_oid(line[8:]))
            continue
        if first:
            line, _, caps = line.partition(b"\0")
            req.capabilities = set(caps.decode("ascii", "replace").split())
            first = False
        parts = line.split(b" ", 2)
        if len(parts) != 3:
            raise ProtocolError(f"malformed push command {line[:100]!r}")
        old, new = parse_oid(parts[0]), parse_oid(parts[1])
        name = parts[2].decode("utf-8", "surrogateescape")
        req.updates.append(RefUpdate(name=name, old=old, new=new))
    if "push-options" in req.capabilities and req.updates:
        options, _ = reader.until_flush()
        req.options = [o.decode("utf-8", "replace") for o in options]
    return req


def _drain(stream):
    """Read what is left of the request so the client hears our answer instead of a reset."""
    while stream.read(1 << 20):
        pass


class PackTooLarge(Exception):
    pass


STALE_SPOOL_SECONDS = 6 * 3600
RETURN_MEMORY_AFTER_BYTES = 4 << 20
# Spools carry the pid of the process writing them ("push-PID-…", "forge-write-PID-…"), so the one a
# SIGKILLed worker left is removed by the next push at once: on a disk that is nearly full, hours of
# a dead push's pack would be the space every later push lacks.
_OWNED_SPOOL = re.compile(r"^(?:push|forge-write)-(\d+)-")


def _owner_gone(name):
    match = _OWNED_SPOOL.match(name)
    if not match:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's
        return False
    return False


def sweep_stale_spools(tmp_dir, now=None):
    """Remove pack spools a killed worker left behind: those whose process is gone, and any
    untouched for hours (no live push owns them)."""
    now = now or time.time()
    for entry in os.scandir(tmp_dir):
        if entry.name.startswith(("push-", "repack-", "forge-write-")) and entry.name.endswith(".pack"):
            try:
                if _owner_gone(entry.name) or now - entry.stat().st_mtime > STALE_SPOOL_SECONDS:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass


def spool_pack(stream, tmp_dir, max_bytes):
    """Copy the rest of the request body (the pack) into a temporary file; None when there is none."""
    sweep_stale_spools(tmp_dir)
    fd, path = tempfile.mkstemp(prefix=f"push-{os.getpid()}-", suffix=".pack", dir=tmp_dir)
    total = 0
    too_large = False
    try:
        with os.fdopen(fd, "wb") as f:
            while True:
                block = stream.read(1 << 20)
                if not block:
                    break
                total += len(block)
                if total > max_bytes:
                    too_large = True
                    continue  # keep reading so the client gets our answer, but store nothing
                f.write(block)
    except BaseException:
        os.unlink(path)
        raise
    if too_large:
        os.unlink(path)
        raise PackTooLarge(total)
    if total == 0:
        os.unlink(path)
        return None
    return path


def _report(req, unpack_error, outcome_updates):
    lines = [pkt(f"unpack {unpack_error or 'ok'}\n")]
    for u in outcome_updates:
        if u.error:
            reason = u.error.replace("\n", " ")
            lines.append(pkt(f"ng {u.name} {reason}\n"))
        else:
            lines.append(pkt(f"ok {u.name}\n"))
    lines.append(FLUSH_PKT)
    return b"".join(lines)


def _wrap(req, report, messages):
    """Put the report (and messages for the user) on side-band when the client asked for it."""
    if "side-band-64k" not in req.capabilities:
        return report
    band = Sideband(large=True)
    out = b"".join(band.packets(2, m.encode()) for m in messages)
    return out + band.packets(1, report) + FLUSH_PKT


def serve_receive(store, stream, *, tmp_dir, max_pack_bytes, check_updates=None, defer=None):
    """Run one push. Returns (response bytes, PushOutcome or None when nothing landed).
    `defer(fn)` runs housekeeping after the response has gone out (by default: right away)."""
    reader = PktReader(stream)
    req = read_commands(reader)
    if not req.updates:
        return b"", None
    for u in req.updates:
        if not u.name.startswith("refs/") or not valid_ref_name(u.name):
            u.error = "funny refname"
        elif u.old == u.new:
            u.error = "old and new object are the same"

    messages = []
    unpack_error = None
    pack_path = None
    needs_pack = any(not u.is_delete for u in req.updates)
    try:
        try:
            pack_path = spool_pack(stream, tmp_dir, max_pack_bytes)
        except PackTooLarge as e:
            unpack_error = f"pack exceeds maximum allowed size ({max_pack_bytes} bytes)"
            messages.append(f"error: push rejected: the pack is {e.args[0]} bytes, over this server's "
                            f"limit of {max_pack_bytes} bytes (FORGE_MAX_PUSH_BYTES)\n")
        except OSError as e:  # the disk is full, most likely
            _drain(stream)
            unpack_error = f"the server could not store the pack ({e.strerror or e})"
            messages.append(f"error: {unpack_error}; nothing was changed\n")
        if unpack_error is None and needs_pack and pack_path is None and any(
            not u.is_delete and not store.has(u.new) for u in req.updates if not u.error
        ):
            unpack_error = "missing pack data"
        try:
            with paused_gc():
                return _check_and_land(store, req, pack_path, unpack_error, messages, check_updates)
        except (OSError, sqlite3.Error) as e:
            # Storage trouble (disk full, a lock held too long): the transaction was rolled back.
            reason = storage_trouble(e)
            for u in req.updates:
                u.error = u.error or f"not updated: {reason}"
            messages.append(f"error: the server could not store this push: {reason} ({e}); nothing was changed\n")
            return _wrap(req, _report(req, reason, req.updates), messages), None
    finally:
        if pack_path is not None:
            big = os.path.getsize(pack_path) > RETURN_MEMORY_AFTER_BYTES
            os.unlink(pack_path)
            if big:
                (defer or (lambda fn: fn()))(return_memory_to_os)


def _check_and_land(store, req, pack_path, unpack_error, messages, check_updates):
    """Check the spooled pack (if any) object by object, then land it with the ref updates."""
    checked = None
    if unpack_error is None and pack_path is not None:
        try:
            checked = store.check_pack(pack_path)
        except IngestError as e:
            unpack_error = str(e)
            messages.append(f"error: {e}\n")
        else:
            if "quiet" not in req.capabilities and checked.entries:
                messages.append(
                    f"Resolving deltas: 100% ({checked.deltas}/{checked.deltas}), completed with "
                    f"{checked.external_bases} local objects. Checked {len(checked.entries)} objects.\n")
    if unpack_error is not None:
        for u in req.updates:
            u.error = u.error or "unpacker error"
        return _wrap(req, _report(req, unpack_error, req.updates), messages), None
    if check_updates is not None:
        check_updates([u for u in req.updates if not u.error], req)
    outcome = store.land_push(checked, req.updates, atomic="atomic" in req.capabilities)
    return _wrap(req, _report(req, None, outcome.updates), messages), outcome


__all__ = ["CAPABILITIES", "serve_receive", "PushOutcome"]
