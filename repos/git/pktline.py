"""pkt-line framing and side-band multiplexing (gitprotocol-common, gitprotocol-pack)."""

FLUSH_PKT = b"0000"
DELIM_PKT = b"0001"
MAX_PKT = 65520
_HEX = b"0123456789abcdefABCDEF"


class _Special:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


# What PktReader.read() returns for the special packets: never equal to any payload.
FLUSH = _Special("flush-pkt")
DELIM = _Special("delim-pkt")
RESPONSE_END = _Special("response-end-pkt")


class ProtocolError(ValueError):
    """The client broke the protocol; the message is sent back as an error."""


def pkt(data):
    if isinstance(data, str):
        # Text made from a client's bytes with surrogateescape (a ref name that is not UTF-8) goes
        # back as those same bytes.
        data = data.encode("utf-8", "surrogateescape")
    if len(data) + 4 > MAX_PKT:
        raise ValueError("pkt-line too long")
    return b"%04x" % (len(data) + 4) + data


class PktReader:
    """Reads pkt-lines from a binary stream (a socket body or a BytesIO).

    read() returns the payload, or one of FLUSH / DELIM / RESPONSE_END for the special packets,
    or None at the end of the stream."""

    def __init__(self, stream):
        self.stream = stream

    def _exact(self, n, end_allowed=False):
        """`n` bytes; None when the stream ends before the first one and `end_allowed` (between
        packets). An end anywhere else (inside a length or a payload) is a protocol error."""
        buf = b""
        while len(buf) < n:
            more = self.stream.read(n - len(buf))
            if not more:
                if not buf and end_allowed:
                    return None
                raise ProtocolError("unexpected end of pkt-line stream")
            buf += more
        return buf

    def read(self):
        head = self._exact(4, end_allowed=True)
        if head is None:
            return None
        if not all(c in _HEX for c in head):
            raise ProtocolError(f"bad pkt-line length {head!r}")
        size = int(head, 16)
        if size == 0:
            return FLUSH
        if size == 1:
            return DELIM
        if size == 2:
            return RESPONSE_END
        if size < 4 or size > MAX_PKT:
            raise ProtocolError(f"bad pkt-line length {head!r}")
        return self._exact(size - 4)

    def until_flush(self):
        """Payload lines up to the next flush (or delim), without newlines; returns (lines, terminator)."""
        lines = []
        while True:
            data = self.read()
            if data is None:
                return lines, None
            if data is FLUSH or data is DELIM or data is RESPONSE_END:
                return lines, data
            lines.append(data.rstrip(b"\n"))


class Sideband:
    """Wraps data into side-band packets: band 1 pack data, band 2 progress, band 3 fatal error."""

    def __init__(self, large):
        self.max_payload = (MAX_PKT if large else 1000) - 5

    def packets(self, band, data):
        step = self.max_payload
        prefix = bytes([band])
        out = []
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            out.append(b"%04x" % (len(piece) + 5) + prefix + piece)
        return b"".join(out)
