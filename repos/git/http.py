"""Smart HTTP around the services: advertisement framing, protocol version, request bodies.
No Django here; repos/views/git_http.py adapts it to requests and responses."""
import io
import zlib

from . import upload_pack
from .pktline import FLUSH_PKT, ProtocolError, pkt
from .receive_pack import CAPABILITIES as RECEIVE_CAPABILITIES
from .receive_pack import serve_receive

SERVICES = ("git-upload-pack", "git-receive-pack")
MAX_NEGOTIATION_BYTES = 64 << 20
NO_CACHE = {
    "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
    "Pragma": "no-cache",
    "Cache-Control": "no-cache, max-age=0, must-revalidate",
}


def protocol_version(git_protocol_header):
    """The version the client asked for in `Git-Protocol` (version=2 wins; 0 when absent)."""
    version = 0
    for item in (git_protocol_header or "").split(":"):
        if item.startswith("version="):
            try:
                version = max(version, int(item[8:]))
            except ValueError:
                pass
    return 2 if version >= 2 else version


def advertisement(store, service, version):
    """Body of GET info/refs?service=…; `store` is None for a repository a push will create."""
    if service == "git-upload-pack" and version == 2:
        return upload_pack.advertise_v2()
    out = pkt(f"# service={service}\n") + FLUSH_PKT
    if version == 1:
        out += pkt("version 1\n")
    if service == "git-upload-pack":
        return out + upload_pack.advertise_v0(store, upload_pack.V0_CAPABILITIES)
    if store is None:
        return out + pkt(f"{upload_pack.ZERO_HEX} capabilities^{{}}\0{RECEIVE_CAPABILITIES}\n") + FLUSH_PKT
    return out + upload_pack.advertise_v0(store, RECEIVE_CAPABILITIES, with_head=False)


class GunzipStream:
    """A readable stream of the decompressed body of a `Content-Encoding: gzip` request."""

    def __init__(self, raw):
        self.raw = raw
        self.z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.buf = b""

    def read(self, n=-1):
        while (n < 0 or len(self.buf) < n) and not self.z.eof:
            pending = self.z.unconsumed_tail or self.raw.read(1 << 16)
            if not pending:
                break
            try:
                self.buf += self.z.decompress(pending, 1 << 20)
            except zlib.error:
                raise ProtocolError("corrupt gzip request body") from None
        if n < 0:
            out, self.buf = self.buf, b""
        else:
            out, self.buf = self.buf[:n], self.buf[n:]
        return out


def request_stream(raw, content_encoding):
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return GunzipStream(raw)
    if encoding not in ("", "identity"):
        raise ProtocolError(f"unsupported Content-Encoding {encoding}")
    return raw


def read_negotiation(stream):
    """An upload-pack request is small (wants and haves): read it whole, within a bound."""
    data = bytearray()
    while True:
        block = stream.read(1 << 16)
        if not block:
            return io.BytesIO(bytes(data))
        data += block
        if len(data) > MAX_NEGOTIATION_BYTES:
            raise ProtocolError("upload-pack request too large")


def serve_upload_pack(store, stream, version):
    body = read_negotiation(stream)
    if version == 2:
        return upload_pack.serve_v2(store, body)
    return upload_pack.serve_v0(store, body)


def error_packet(message):
    return pkt(f"ERR {message}\n")


__all__ = ["SERVICES", "NO_CACHE", "protocol_version", "advertisement", "request_stream",
           "serve_upload_pack", "serve_receive", "error_packet"]
