"""HTTP caching: pages addressed by a commit id are immutable, pages addressed by a ref are
short-lived; both carry ETags and answer a matching If-None-Match with 304."""
from tests.repos.web.test_pages import get


def test_commit_addressed_pages_are_immutable(client, special_repo):
    body = get(client, "/alice/special/commits/main?format=md").content.decode()
    sha = body.split("\n- ")[1].split()[0]
    for url in (f"/alice/special/commit/{sha}", f"/alice/special/tree/{sha}", f"/alice/special/blob/{sha}/src/app.py",
                f"/alice/special/raw/{sha}/src/app.py", f"/alice/special/blame/{sha}/src/app.py"):
        response = get(client, url)
        assert "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"], url
        assert response["ETag"]
        again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304, url


def test_ref_addressed_pages_are_revalidated_on_every_view(client, special_repo):
    for url in ("/alice/special", "/alice/special/tree/main/src", "/alice/special/blob/main/src/app.py",
                "/alice/special/commits/main", "/alice/special/branches", "/alice/special/tags"):
        response = get(client, url)
        assert "immutable" not in response["Cache-Control"] and "no-cache" in response["Cache-Control"], url
        assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304, url
        # Markdown is another representation: another validator.
        md = get(client, url, HTTP_ACCEPT="text/markdown")
        assert md["ETag"] != response["ETag"] and "Accept" in md["Vary"]
