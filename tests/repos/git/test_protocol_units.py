"""Protocol pieces that need no server: pkt-line framing, Git-Protocol parsing, gzip bodies, spools."""
import gzip
import io
import os
import time

import pytest

from repos.git.http import GunzipStream, protocol_version
from repos.git.pktline import DELIM, FLUSH, PktReader, ProtocolError, Sideband, pkt
from repos.git.receive_pack import STALE_SPOOL_SECONDS, sweep_stale_spools


def test_pkt_lines_round_trip_with_special_packets():
    stream = io.BytesIO(pkt("hello\n") + b"0000" + pkt(b"0000") + b"0001")
    reader = PktReader(stream)
    assert [reader.read() for _ in range(5)] == [b"hello\n", FLUSH, b"0000", DELIM, None]


@pytest.mark.parametrize("head", [b"zzzz", b"0x10", b" 10a", b"0003", b"fff1"])
def test_bad_pkt_line_lengths_are_protocol_errors(head):
    with pytest.raises(ProtocolError):
        PktReader(io.BytesIO(head + b"x" * 8)).read()


def test_truncated_pkt_line_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        PktReader(io.BytesIO(b"0010abc")).read()


def test_sideband_splits_large_payloads():
    data = os.urandom(200000)
    packets = PktReader(io.BytesIO(Sideband(large=True).packets(1, data)))
    got = b""
    while (p := packets.read()) is not None:
        assert p[0] == 1 and len(p) <= 65516
        got += p[1:]
    assert got == data


@pytest.mark.parametrize("header,version", [(None, 0), ("version=1", 1), ("version=2", 2),
                                            ("object-format=sha1:version=2", 2), ("version=x", 0)])
def test_git_protocol_header(header, version):
    assert protocol_version(header) == version


def test_gzip_body_reads_back_whole_in_any_read_size():
    data = os.urandom(100000) + b"z" * 3_000_000
    stream = GunzipStream(io.BytesIO(gzip.compress(data)))
    out = b""
    while block := stream.read(4099):
        out += block
    assert out == data


def test_stale_spools_of_killed_workers_are_swept(tmp_path):
    old, fresh, other = tmp_path / "push-a.pack", tmp_path / "push-b.pack", tmp_path / "keep.txt"
    for f in (old, fresh, other):
        f.write_bytes(b"x")
    past = time.time() - STALE_SPOOL_SECONDS - 60
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    sweep_stale_spools(str(tmp_path))
    assert not old.exists() and fresh.exists() and other.exists()


def test_a_push_the_server_cannot_store_is_refused_cleanly(tmp_path):
    """Storage failing under a push (here: no spool directory; a full disk looks the same) gives
    the client a report saying so, and changes nothing."""
    from repos.git.receive_pack import serve_receive
    from repos.store import RepoStore

    store = RepoStore.create(tmp_path / "r.sqlite3")
    zero, some = "0" * 40, "1" * 40
    body = pkt(f"{zero} {some} refs/heads/main\0report-status side-band-64k\n") + b"0000" + b"PACK" + b"\0" * 100
    stream = io.BytesIO(body)
    response, outcome = serve_receive(store, stream, tmp_dir=str(tmp_path / "missing"), max_pack_bytes=1 << 20)
    assert outcome is None
    assert stream.read() == b""  # the rest of the request was read, so the client gets the answer
    assert b"unpack the server could not store the pack" in response
    assert b"ng refs/heads/main" in response
    assert store.is_empty() and store.stats()["packs"] == 0
