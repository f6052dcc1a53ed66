"""Binary, image, large and hostile content: shown safely, served raw with the right headers;
an empty repository shows how to push to it."""
import io
import tarfile
import zipfile
from urllib.parse import quote

from tests.repos.web.conftest import PNG
from tests.repos.web.test_pages import get, text

BASE = "/alice/special"
HOSTILE_NAME = "<img src=x onerror=alert(3)>.txt"


def test_readme_is_rendered_safely_with_links_rewritten(client, special_repo):
    html = text(get(client, BASE))
    readme = html[html.index('class="readme"'):]
    assert "<script>alert('readme')" not in html and "&lt;script&gt;alert(&#x27;readme&#x27;)" in readme \
        or "&lt;script&gt;alert('readme')" in readme
    assert 'href="javascript' not in readme.lower() and "[click](javascript:alert(1))" in readme  # left as text
    assert "<img src=x onerror" not in html and "onerror=alert(2)" not in readme.replace("&lt;img src=x onerror=alert(2)&gt;", "")
    assert f'href="{BASE}/blob/main/docs/guide.md"' in readme
    assert f'src="{BASE}/raw/main/img/logo.png"' in readme
    assert "<table>" in readme and 'type="checkbox"' in readme


def test_hostile_file_names_and_commit_messages_are_escaped(client, special_repo):
    pages = [BASE, f"{BASE}/tree/main", f"{BASE}/commits/main", f"{BASE}/branches",
             f"{BASE}/blob/main/{quote(HOSTILE_NAME)}", f"{BASE}/blame/main/{quote(HOSTILE_NAME)}"]
    sha = get(client, f"{BASE}/commits/main?format=md").content.decode().split("\n- ")[1].split()[0]
    pages.append(f"{BASE}/commit/{sha}")
    for url in pages:
        html = text(get(client, url))
        assert "<script>alert(" not in html, url
        assert "<img src=x onerror" not in html, url
        assert "<b>bold</b>" not in html, url
    commit_page = text(get(client, f"{BASE}/commit/{sha}"))
    assert "&lt;script&gt;alert(" in commit_page and "msg" in commit_page
    assert "&lt;img src=x onerror=alert(3)&gt;.txt" in commit_page


def test_binary_image_and_large_files(client, special_repo):
    binary = text(get(client, f"{BASE}/blob/main/data.bin"))
    assert "Binary file not shown" in binary
    image = text(get(client, f"{BASE}/blob/main/img/logo.png"))
    assert f'<img src="{BASE}/raw/main/img/logo.png"' in image
    large = text(get(client, f"{BASE}/blob/main/big.txt"))
    assert "too large to show" in large and len(large) < 30_000
    raw = get(client, f"{BASE}/raw/main/big.txt")
    assert raw.content.count(b"\n") == 60000


def test_raw_serves_exact_bytes_that_cannot_run(client, special_repo):
    png = get(client, f"{BASE}/raw/main/img/logo.png")
    assert png.content == PNG and png["Content-Type"] == "image/png"
    html = get(client, f"{BASE}/raw/main/page.html")
    assert html["Content-Type"].startswith("text/plain")
    for response in (png, html, get(client, f"{BASE}/raw/main/data.bin")):
        assert response["Content-Security-Policy"].startswith("default-src 'none'")
        assert response["X-Content-Type-Options"] == "nosniff"


def test_markdown_file_renders_with_a_source_toggle(client, special_repo):
    rendered = text(get(client, f"{BASE}/blob/main/docs/guide.md"))
    assert "<h1" in rendered and f'href="{BASE}/blob/main/README.md"' in rendered and "?plain=1" in rendered
    source = text(get(client, f"{BASE}/blob/main/docs/guide.md?plain=1"))
    assert 'id=L1>' in source and "# Guide" in source


def test_blob_lines_have_anchors_and_highlighting(client, special_repo):
    html = text(get(client, f"{BASE}/blob/main/src/app.py"))
    assert 'id=L1>' in html and 'href=#L2>' in html and 'id=L3>' not in html
    assert "&lt;b&gt;" in html and "<b>" not in html.split('class="blob"')[1]


def test_archives_hold_the_tree(client, special_repo, special_git):
    tgz = get(client, f"{BASE}/archive/main.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(b"".join(tgz.streaming_content)), mode="r:gz") as tar:
        names = tar.getnames()
        assert "special-main/src/app.py" in names
        assert tar.extractfile("special-main/img/logo.png").read() == PNG
    zipped = get(client, f"{BASE}/archive/main.zip")
    with zipfile.ZipFile(io.BytesIO(b"".join(zipped.streaming_content))) as z:
        assert z.read("special-main/img/logo.png") == PNG


def test_empty_repository_shows_push_commands(client, register):
    register(None, "alice", "blank")
    html = text(get(client, "/alice/blank"))
    assert "git remote add origin http://testserver/alice/blank.git" in html
    assert "git push -u origin main" in html
    md = text(get(client, "/alice/blank?format=md"))
    assert "git push -u origin main" in md
    for url in ("/alice/blank/tree/main", "/alice/blank/commits", "/alice/blank/commits/main"):
        get(client, url, 404)
    assert "No branches yet" in text(get(client, "/alice/blank/branches"))
    assert "No tags yet" in text(get(client, "/alice/blank/tags"))
