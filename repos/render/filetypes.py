"""What a blob is: binary or text, an image we can show, the Content-Type to serve it raw with.

The raw view must serve every answer here with `X-Content-Type-Options: nosniff`, and SVG (and PDF)
with a sandboxing Content-Security-Policy: an SVG opened directly runs its scripts on our origin."""

# git's rule (buffer_is_binary): a NUL byte in the first 8000 bytes.
BINARY_PROBE_BYTES = 8000

_RASTER_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_SVG_EXTENSIONS = (".svg",)
_UTF8_BOM = b"\xef\xbb\xbf"


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_PROBE_BYTES]


def image_type(path: str, data: bytes) -> str | None:
    """The image MIME type of a blob we can show in an <img>, else None.

    Raster formats are recognised by their magic bytes alone (a PNG named .txt is still a PNG; a text
    file named .png is not an image). SVG has no magic, so it needs both the extension and content
    that starts like markup."""
    for magic, mime in _RASTER_MAGIC:
        if data.startswith(magic):
            return mime
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if path.lower().endswith(_SVG_EXTENSIONS):
        head = data[:1024]
        if head.startswith(_UTF8_BOM):
            head = head[len(_UTF8_BOM):]
        if head.lstrip().startswith(b"<") and not is_binary(data):
            return "image/svg+xml"
    return None


def raw_content_type(path: str, data: bytes) -> str:
    """Content-Type for the raw view. Text is always text/plain (never text/html: a repository's
    HTML must not run on our origin)."""
    image = image_type(path, data)
    if image:
        return image
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if is_binary(data):
        return "application/octet-stream"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "text/plain"
    return "text/plain; charset=utf-8"


def decode_text(data: bytes) -> str:
    """Text for display: UTF-8 (a leading BOM dropped), else latin-1, which maps every byte and so
    never fails (right for ISO-8859-1 files, readable enough for other 8-bit encodings)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
    return text[1:] if text.startswith("\ufeff") else text
