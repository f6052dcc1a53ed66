"""Fuzzing pkt-line framing (repos/git/pktline.py) and the two git endpoints that read it.

- Any bytes, delivered in any chunking, read as exactly the packets the framing rules give (checked
  against a reference reading written here from gitprotocol-common) or end in ProtocolError.
- Packets encoded with pkt()/FLUSH_PKT/DELIM_PKT decode to themselves; side-band splits rejoin.
- Any request body to git-upload-pack (v0 and v2, plain or gzip) and git-receive-pack, with a valid
  token on a real repository, through the whole Django stack: never a 5xx and never an exception,
  also not while the streamed answer is read. A receive-pack that changes nothing leaves the store alone.
"""
import gzip
import io
import random

import pytest
from django.test import Client
from hypothesis import example, given
from hypothesis import strategies as st

from repos.git.pktline import (
    DELIM, DELIM_PKT, FLUSH, FLUSH_PKT, MAX_PKT, RESPONSE_END, PktReader, ProtocolError, Sideband, pkt,
)
from repos.selectors import store_path
from repos.store import RepoStore
from tests.fuzz.conftest import NAME, OWNER
from tests.fuzz.fuzzing import close_response, count, fuzz_settings, no_hang

HEX = b"0123456789abcdefABCDEF"


class ChunkedStream:
    """A stream that hands out at most the next chunk size per read (as a socket may)."""

    def __init__(self, data, sizes):
        self.data, self.sizes, self.pos, self.turn = data, sizes or [1 << 30], 0, 0

    def read(self, n=-1):
        size = self.sizes[self.turn % len(self.sizes)]
        self.turn += 1
        n = len(self.data) if n is None or n < 0 else n
        piece = self.data[self.pos:self.pos + min(n, size)]
        self.pos += len(piece)
        return piece


def reference_packets(data):
    """gitprotocol-common read directly: (packets, error?) where packets hold payloads and specials."""
    out, i = [], 0
    while i < len(data):
        head = data[i:i + 4]
        if len(head) < 4 or any(c not in HEX for c in head):
            return out, True
        size = int(head, 16)
        if size in (0, 1, 2):
            out.append({0: FLUSH, 1: DELIM, 2: RESPONSE_END}[size])
            i += 4
            continue
        if size < 4 or size > MAX_PKT or i + size > len(data):
            return out, True
        out.append(data[i + 4:i + size])
        i += size
    return out, False


def forge_packets(stream):
    reader, out = PktReader(stream), []
    try:
        while (packet := reader.read()) is not None:
            out.append(packet)
    except ProtocolError:
        return out, True
    return out, False


# Pieces that make inputs look like pkt-lines often enough to get past the first four bytes.
_hex_head = st.integers(0, 0xFFFF).map(lambda n: b"%04x" % n)
_piece = st.one_of(
    st.binary(max_size=64).map(pkt),
    st.sampled_from([FLUSH_PKT, DELIM_PKT, b"0002", b"0003", b"0004", b"fff0", b"fff1", b"FFFF", b"000A"]),
    _hex_head,
    st.binary(max_size=12),
    st.integers(0, 0xFFFF).map(lambda n: b"%04X" % n),
)
pktish = st.one_of(st.binary(max_size=300), st.lists(_piece, max_size=20).map(b"".join))


@fuzz_settings()
@given(data=pktish, sizes=st.lists(st.integers(1, 9), max_size=4))
@example(data=b"0010abc", sizes=[])
@example(data=b"0010", sizes=[])  # found: a stream ending right after a length read as a clean end
@example(data=b"00", sizes=[])
@example(data=b"0x10" + b"x" * 12, sizes=[])
@example(data=b"\xff\xfe\xfd\xfc", sizes=[])
def test_any_bytes_read_as_the_reference_packets_or_a_protocol_error(data, sizes):
    count("pktline: framing of any bytes")
    with no_hang("reading pkt-lines"):
        got = forge_packets(ChunkedStream(data, sizes))
    assert got == reference_packets(data)


@fuzz_settings()
@given(data=pktish)
def test_until_flush_stops_at_a_special_or_raises_protocol_error(data):
    count("pktline: until_flush")
    reader = PktReader(io.BytesIO(data))
    try:
        lines, terminator = reader.until_flush()
    except ProtocolError:
        return
    assert all(isinstance(line, bytes) and not line.endswith(b"\n") for line in lines)
    assert terminator in (None, FLUSH, DELIM, RESPONSE_END)


def sized_bytes(low, high):
    """Bytes of a length in [low, high], filled from a drawn seed: hypothesis draws big binaries a
    byte at a time, far too slowly for payloads of 64 KiB."""
    return st.tuples(st.integers(low, high), st.integers(0, 2 ** 32)).map(
        lambda p: random.Random(p[1]).randbytes(p[0]))


_payload = st.one_of(st.binary(max_size=200), sized_bytes(MAX_PKT - 4 - 8, MAX_PKT - 4))
_packet = st.one_of(_payload, st.sampled_from([FLUSH, DELIM, RESPONSE_END]))
_ENCODED = {id(FLUSH): FLUSH_PKT, id(DELIM): DELIM_PKT, id(RESPONSE_END): b"0002"}


@fuzz_settings()
@given(packets=st.lists(_packet, max_size=12), sizes=st.lists(st.integers(1, 5000), max_size=3))
def test_encoded_packets_decode_to_themselves(packets, sizes):
    count("pktline: encode/decode round trip")
    data = b"".join(_ENCODED[id(p)] if id(p) in _ENCODED else pkt(p) for p in packets)
    assert forge_packets(ChunkedStream(data, sizes)) == (packets, False)


@fuzz_settings()
@given(sized_bytes(MAX_PKT - 3, MAX_PKT + 10))
def test_a_payload_over_the_limit_is_refused_when_encoding(payload):
    count("pktline: oversized payload")
    with pytest.raises(ValueError):
        pkt(payload)


@fuzz_settings()
@given(band=st.integers(1, 3), large=st.booleans(), data=st.one_of(st.binary(max_size=100), sized_bytes(0, 140000)))
def test_side_band_packets_rejoin(band, large, data):
    count("pktline: side-band round trip")
    packets, error = forge_packets(io.BytesIO(Sideband(large).packets(band, data)))
    assert not error
    assert all(p[0] == band and len(p) <= (MAX_PKT if large else 1000) - 4 for p in packets)
    assert b"".join(p[1:] for p in packets) == data


# -- the endpoints -----------------------------------------------------------------------------------
_OIDS = st.sampled_from(["0" * 40, "1" * 40, "f" * 39, "g" * 40, "", "0" * 41])


def _line(*parts):
    return st.tuples(*parts).map(lambda ps: pkt(" ".join(ps).encode("utf-8", "surrogateescape") + b"\n"))


def _real_oids(site_oids):
    return st.one_of(_OIDS, st.sampled_from(site_oids))


def _upload_lines(oids):
    words = st.sampled_from(["multi_ack", "multi_ack_detailed", "side-band-64k", "side-band", "ofs-delta",
                             "thin-pack", "no-progress", "include-tag", "no-done", "shallow", "deepen-relative",
                             "filter", "agent=fuzz/1", "\udcff\udcfe"])
    return st.one_of(
        _line(st.just("want"), oids, words, words),
        _line(st.just("want"), oids),
        _line(st.just("have"), oids),
        _line(st.just("shallow"), oids),
        _line(st.sampled_from(["deepen", "deepen-since", "deepen-not"]),
              st.one_of(st.integers(-3, 2 ** 70).map(str), st.text(max_size=10))),
        _line(st.just("filter"), st.one_of(st.sampled_from(["blob:none", "blob:limit=1k", "tree:0",
                                                            "sparse:oid=x", "combine:a+b", "blob:limit=x"]),
                                           st.text(max_size=20))),
        st.sampled_from([pkt(b"done\n"), pkt(b"done"), FLUSH_PKT, DELIM_PKT, b"0002",
                         pkt(b"command=fetch\n"), pkt(b"command=ls-refs\n"), pkt(b"command=object-info\n"),
                         pkt(b"command=\xff\n"), pkt(b"command=bogus\n"), pkt(b"object-format=sha256\n"),
                         pkt(b"agent=x\n"), pkt(b"symrefs\n"), pkt(b"peel\n"), pkt(b"unborn\n"),
                         pkt(b"ref-prefix refs/heads/\n"), pkt(b"ref-prefix \xff\n"), pkt(b"size\n"),
                         pkt(b"wait-for-done\n"), pkt(b"thin-pack\n"), pkt(b"ofs-delta\n"), pkt(b"include-tag\n"),
                         pkt(b"no-progress\n"), pkt(b"want-ref refs/heads/main\n"), pkt(b"sideband-all\n"),
                         pkt(b"packfile-uris https\n"), pkt(b"deepen-relative\n"), pkt(b"filter \xff\n")]),
        _line(st.just("oid"), oids),
        _piece,
    )


def _body(lines):
    return st.one_of(st.binary(max_size=200), st.lists(lines, max_size=14).map(b"".join))


def _upload_body(oids):
    """Raw bytes, any pkt-lines, or requests shaped as v0 (wants, flush, haves, done) or v2
    (command, capabilities, delim, arguments, flush) with any lines in the parts."""
    lines = _upload_lines(oids)
    wants = st.lists(st.one_of(_line(st.just("want"), oids,
                                     st.sampled_from(["side-band-64k ofs-delta", "multi_ack_detailed no-done",
                                                      "thin-pack include-tag", "shallow", "\udcff"])),
                               lines), min_size=1, max_size=5)
    v0 = st.tuples(wants, st.sampled_from([[FLUSH_PKT], []]), st.lists(lines, max_size=5),
                   st.sampled_from([[pkt(b"done\n")], []])).map(lambda p: b"".join(b"".join(part) for part in p))
    command = st.one_of(st.sampled_from([b"fetch", b"ls-refs", b"object-info", b"\xff", b""]), st.binary(max_size=8))
    v2 = st.tuples(command.map(lambda c: [pkt(b"command=" + c + b"\n")]), st.lists(lines, max_size=3),
                   st.sampled_from([[DELIM_PKT], []]), st.lists(lines, max_size=6),
                   st.sampled_from([[FLUSH_PKT], []])).map(lambda p: b"".join(b"".join(part) for part in p))
    return st.one_of(_body(lines), v0, v2)


def _request(client, path, body, authorization, content_type, encoding, protocol):
    extra = {"HTTP_AUTHORIZATION": authorization, "wsgi.input": io.BytesIO(body),
             "CONTENT_LENGTH": str(len(body))}
    if encoding is not None:
        extra["HTTP_CONTENT_ENCODING"] = encoding
    if protocol is not None:
        extra["HTTP_GIT_PROTOCOL"] = protocol
    response = client.generic("POST", path, b"", content_type=content_type, **extra)
    try:
        content = b"".join(response.streaming_content) if response.streaming else response.content
    finally:
        close_response(response)
    return response.status_code, content


def _encode(body, encoding):
    if encoding in ("gzip", "x-gzip"):
        return gzip.compress(body)
    if encoding == "gzip-broken":
        return gzip.compress(body)[:-5] + b"junk"
    return body


@pytest.fixture
def site(fuzz_site):
    repo, authorization, reset = fuzz_site
    with RepoStore.open(store_path(repo)) as store:
        state = (store.refs(), store.con.execute("SELECT count(*) FROM objects").fetchone()[0])
    oids = sorted({oid.hex() for _name, oid, _peeled in state[0]})
    return repo, authorization, reset, state, oids


def test_any_upload_pack_request_is_answered_without_a_server_error(site):
    _repo, authorization, _reset, _state, oids = site
    client = Client()

    @fuzz_settings(short_share=0.5)
    @given(body=_upload_body(_real_oids(oids)),
           encoding=st.sampled_from([None, "gzip", "gzip-broken", "identity", "br"]),
           protocol=st.sampled_from([None, "version=2", "version=1", "version=x:version=2", "\xff"]))
    # Found: bytes that are not UTF-8 in a v2 command, a v0 capability or a filter gave a 500, and an
    # unknown filter spec broke the streamed answer off (an exception after the headers had gone).
    @example(body=pkt(b"command=\x80\n") + FLUSH_PKT, encoding=None, protocol="version=2")
    @example(body=pkt(f"want {oids[0]} \x80\n".encode("latin-1")) + FLUSH_PKT, encoding=None, protocol=None)
    @example(body=pkt(b"command=fetch\n") + DELIM_PKT + pkt(b"filter \xff\n") + FLUSH_PKT, encoding=None,
             protocol="version=2")
    @example(body=pkt(f"want {oids[0]}\n".encode()) + pkt(b"filter bogus\n") + FLUSH_PKT + pkt(b"done\n"),
             encoding=None, protocol=None)
    def run(body, encoding, protocol):
        count("pktline: HTTP git-upload-pack bodies")
        with no_hang("git-upload-pack"):
            status, content = _request(client, f"/{OWNER}/{NAME}.git/git-upload-pack", _encode(body, encoding),
                                       authorization, "application/x-git-upload-pack-request",
                                       None if encoding == "gzip-broken" else encoding, protocol)
        assert status < 500, content[:300]

    run()


def _receive_lines(oids):
    refs = st.one_of(st.sampled_from(["refs/heads/main", "refs/heads/new", "refs/tags/t", "HEAD", "refs/heads/a..b",
                                      "refs/heads/feature", "refs/heads/x\udcff", "main", "refs/heads/"]),
                     st.text(max_size=20))
    caps = st.sampled_from(["", "\0report-status", "\0report-status side-band-64k", "\0atomic report-status-v2",
                            "\0push-options report-status", "\0quiet", "\0\udcff"])
    command = st.tuples(oids, oids, refs, caps).map(
        lambda p: pkt(f"{p[0]} {p[1]} {p[2]}{p[3]}\n".encode("utf-8", "surrogateescape")))
    return st.one_of(command, _line(st.just("shallow"), oids), _piece,
                     st.sampled_from([FLUSH_PKT, pkt(b"PACK"), b"PACK\0\0\0\2\0\0\0\0" + b"\0" * 20]))


def test_any_receive_pack_request_is_answered_without_a_server_error(site):
    repo, authorization, reset, state, oids = site
    client = Client()

    @fuzz_settings(short_share=0.5)
    @given(body=_body(_receive_lines(_real_oids(oids + ["0" * 40]))),
           encoding=st.sampled_from([None, "gzip", "gzip-broken", "deflate"]))
    @example(body=pkt(f"{'0' * 40} {oids[0]} refs/heads/x\udcff\0report-status\n".encode("utf-8", "surrogateescape"))
             + FLUSH_PKT, encoding=None)
    def run(body, encoding):
        count("pktline: HTTP git-receive-pack bodies")
        reset()
        with no_hang("git-receive-pack"):
            status, content = _request(client, f"/{OWNER}/{NAME}.git/git-receive-pack", _encode(body, encoding),
                                       authorization, "application/x-git-receive-pack-request",
                                       None if encoding == "gzip-broken" else encoding, None)
        assert status < 500, content[:300]
        if b"ok refs/" not in content:  # nothing was accepted: nothing changed
            with RepoStore.open(store_path(repo)) as store:
                assert (store.refs(), store.con.execute("SELECT count(*) FROM objects").fetchone()[0]) == state

    run()
