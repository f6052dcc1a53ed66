"""Hand-made git wire data: pkt-lines, loose object bytes, packfiles, receive-pack requests and reports.

Built from zlib and hashlib only, so tests can send exactly the bytes they mean (broken ones included)
without going through any git implementation.
"""
import base64
import hashlib
import http.client
import struct
import urllib.parse
import zlib

ZERO = "0" * 40
FLUSH = b"0000"
TYPE_NUMBERS = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}


def pkt(data):
    if isinstance(data, str):
        data = data.encode()
    return b"%04x" % (len(data) + 4) + data


def parse_pkts(data):
    """Splits pkt-line data into payloads; None for a flush (0000), delim (0001) or response-end (0002)."""
    out, i = [], 0
    while i + 4 <= len(data):
        length = int(data[i:i + 4], 16)
        if length < 4:
            out.append(None)
            i += 4
            continue
        out.append(data[i + 4:i + length])
        i += length
    if i != len(data):
        raise ValueError(f"trailing bytes after pkt-lines: {data[i:i + 40]!r}")
    return out


# --- objects --------------------------------------------------------------------------------------------------

def object_id(kind, body):
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(body)) + body).hexdigest()


def tree_body(entries):
    """entries: (mode, name, hex oid); mode is written as given (so invalid modes can be made)."""
    out = b""
    for mode, name, oid in entries:
        mode = mode.encode() if isinstance(mode, str) else mode
        name = name.encode() if isinstance(name, str) else name
        out += mode + b" " + name + b"\0" + bytes.fromhex(oid)
    return out


def commit_body(tree, parents=(), message="test commit\n", when=1_700_000_000, tree_line=None):
    """A commit; tree_line replaces the whole `tree ...` line (to make broken commits)."""
    ident = f"Wire Tester <wire@example.org> {when} +0000"
    lines = [tree_line if tree_line is not None else f"tree {tree}"]
    lines += [f"parent {p}" for p in parents]
    lines += [f"author {ident}", f"committer {ident}", "", message]
    return "\n".join(lines).encode()


# --- packs ----------------------------------------------------------------------------------------------------

def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def insert_delta(base_size, target):
    """Delta data that builds target from a base of base_size bytes by inserting everything."""
    out = _varint(base_size) + _varint(len(target))
    for i in range(0, len(target), 127):
        piece = target[i:i + 127]
        out += bytes([len(piece)]) + piece
    return out


def ref_delta_entry(base_oid, delta):
    """A REF_DELTA pack entry (type 7) against the object base_oid."""
    return _entry_header(7, len(delta)) + bytes.fromhex(base_oid) + zlib.compress(delta)


def _entry_header(n, size):
    first = (n << 4) | (size & 0x0F)
    size >>= 4
    header = bytearray()
    while size:
        header.append(first | 0x80)
        first = size & 0x7F
        size >>= 7
    header.append(first)
    return bytes(header)


def pack_entry(kind, body):
    return _entry_header(TYPE_NUMBERS[kind], len(body)) + zlib.compress(body)


def pack(objects):
    """A version 2 packfile with its SHA-1 trailer: (kind, body) objects, or raw entries given as bytes."""
    data = b"PACK" + struct.pack(">II", 2, len(objects))
    for item in objects:
        data += item if isinstance(item, bytes) else pack_entry(*item)
    return data + hashlib.sha1(data).digest()


def empty_pack():
    return pack([])


# --- receive-pack ---------------------------------------------------------------------------------------------

def receive_pack_request(commands, pack_data=b"", capabilities="report-status"):
    """commands: (old, new, refname); the capabilities go on the first command line."""
    body = b""
    for i, (old, new, ref) in enumerate(commands):
        line = f"{old} {new} {ref}"
        body += pkt((line + "\0" + capabilities if i == 0 else line) + "\n")
    return body + FLUSH + pack_data


def parse_report(body):
    """A report-status response -> {"unpack": "ok"|error, "refs": {ref: "ok"|"ng <reason>"}, "error": ERR text}.

    Side-band channel 1 is unwrapped when present. Returns None when the body holds no report at all.
    """
    pkts = parse_pkts(body)
    if pkts and pkts[0] is not None and pkts[0][:1] in (b"\x01", b"\x02", b"\x03"):
        inner = b"".join(p[1:] for p in pkts if p is not None and p[:1] == b"\x01")
        pkts = parse_pkts(inner)
    report = {"unpack": None, "refs": {}, "error": None}
    for p in pkts:
        if p is None:
            continue
        line = p.decode("utf-8", "replace").rstrip("\n")
        if line.startswith("ERR "):
            report["error"] = line[4:]
        elif line.startswith("unpack "):
            report["unpack"] = line[len("unpack "):]
        elif line.startswith("ok "):
            report["refs"][line[3:]] = "ok"
        elif line.startswith("ng "):
            ref, _, reason = line[3:].partition(" ")
            report["refs"][ref] = "ng " + reason
    if report["unpack"] is None and not report["refs"] and report["error"] is None:
        return None
    return report


# --- raw HTTP -----------------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def http_request(base_url, method, path, body=None, headers=None, token=None, timeout=60):
    """One request with http.client; token (if any) as HTTP Basic password. headers is case-insensitive."""
    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = "Basic " + base64.b64encode(f"x:{token}".encode()).decode()
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.headers, data)
    finally:
        conn.close()


def post_receive_pack(base_url, owner, name, body, token=None, headers=None):
    hdrs = {"Content-Type": "application/x-git-receive-pack-request",
            "Accept": "application/x-git-receive-pack-result"}
    hdrs.update(headers or {})
    return http_request(base_url, "POST", f"/{owner}/{name}.git/git-receive-pack", body, hdrs, token)


def push_succeeded(resp):
    """True when a receive-pack response reports success for every command (unpack ok, all refs ok)."""
    if resp.status != 200:
        return False
    report = parse_report(resp.body)
    return bool(report and report["unpack"] == "ok" and report["error"] is None and report["refs"]
                and all(v == "ok" for v in report["refs"].values()))
