"""File-type sniffing: git's binary rule, images by magic bytes (SVG by name and content), the raw
view's Content-Type (never text/html), and text decoding that never fails."""
import pytest

from repos.render.filetypes import decode_text, image_type, is_binary, raw_content_type

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 20
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>\n'


def test_binary_is_a_nul_in_the_first_8000_bytes_like_git():
    assert not is_binary(b"")
    assert not is_binary("héllo\n".encode())
    assert is_binary(b"abc\x00def")
    assert is_binary(b"a" * 7999 + b"\x00")
    assert not is_binary(b"a" * 8000 + b"\x00")
    assert is_binary("utf-16 text".encode("utf-16-le"))


@pytest.mark.parametrize("data, expected", [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (b"GIF87a" + b"\x00" * 10, "image/gif"),
    (WEBP, "image/webp"),
])
def test_raster_images_by_magic_bytes_whatever_the_name(data, expected):
    assert image_type("logo.bin", data) == expected
    assert image_type("docs/img/logo.png", data) == expected
    assert raw_content_type("x", data) == expected


def test_a_name_alone_does_not_make_an_image():
    assert image_type("fake.png", b"just text, not a PNG\n") is None
    assert image_type("fake.jpg", b"") is None
    assert image_type("riff.webp", b"RIFF\x00\x00\x00\x00AVI LIST") is None
    assert raw_content_type("fake.png", b"just text\n") == "text/plain; charset=utf-8"


def test_svg_needs_its_extension_and_markup_content():
    assert image_type("icon.svg", SVG) == "image/svg+xml"
    assert image_type("ICON.SVG", b"\xef\xbb\xbf  \n<svg/>") == "image/svg+xml"
    assert image_type("icon.xml", SVG) is None               # markup, but not named .svg
    assert image_type("icon.svg", b"not markup") is None
    assert image_type("icon.svg", b"<svg>\x00binary") is None
    assert raw_content_type("icon.svg", SVG) == "image/svg+xml"


def test_raw_content_types():
    assert raw_content_type("paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") == "application/pdf"
    assert raw_content_type("paper.pdf", b"%PDF-1.4\n\x00\x01binary") == "application/pdf"
    assert raw_content_type("a.out", b"\x7fELF\x02\x01\x01\x00") == "application/octet-stream"
    assert raw_content_type("x.py", "print('héllo')\n".encode()) == "text/plain; charset=utf-8"
    assert raw_content_type("x.txt", "caf\xe9\n".encode("latin-1")) == "text/plain"
    assert raw_content_type("empty", b"") == "text/plain; charset=utf-8"


def test_html_and_scripts_are_served_as_plain_text():
    page = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
    assert raw_content_type("index.html", page) == "text/plain; charset=utf-8"
    assert raw_content_type("evil.js", b"alert(1)") == "text/plain; charset=utf-8"


def test_decode_text_never_raises():
    assert decode_text("naïve ☃\n".encode()) == "naïve ☃\n"
    assert decode_text("\ufeffwith bom\n".encode()) == "with bom\n"
    assert decode_text("caf\xe9\n".encode("latin-1")) == "café\n"
    assert decode_text(bytes(range(256))) == bytes(range(256)).decode("latin-1")
    assert decode_text(b"") == ""
