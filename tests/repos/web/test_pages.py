"""Every page of a repository made by make-test-repo renders, in HTML and in Markdown, and shows
what git says is there: the tree's entries with their last commits, the log, commits, refs."""
import re
import subprocess
from urllib.parse import quote


from tests.support.gitcli import out


def git_out(repo, *args):
    return out("-C", repo, *args)


def get(client, url, status=200, **headers):
    response = client.get(url, **headers)
    assert response.status_code == status, (url, response.status_code, response.content[:500])
    return response


def text(response):
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def feature_branch(repo):
    return next(line for line in git_out(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/feature/")
                .splitlines())


def largest_py(repo, ref="main"):
    rows = [line.split(None, 4) for line in git_out(repo, "ls-tree", "-r", "-l", ref).splitlines()]
    return max((r for r in rows if r[4].endswith(".py")), key=lambda r: int(r[3]))[4]


def test_every_page_renders_in_html_and_markdown(client, sample_repo, sample_git):
    base = "/alice/sample"
    branch = feature_branch(sample_git)
    py = largest_py(sample_git)
    directory = py.rsplit("/", 1)[0]
    commit = git_out(sample_git, "rev-parse", "main~3").strip()
    merge = git_out(sample_git, "rev-list", "--merges", "-1", "main").strip()
    urls = [
        "/", "/alice", base, f"{base}/tree/main", f"{base}/tree/main/{directory}", f"{base}/tree/{branch}",
        f"{base}/tree/{branch}/{directory}", f"{base}/blob/main/{py}", f"{base}/blob/{branch}/{py}",
        f"{base}/blob/{commit}/{py}", f"{base}/blame/main/{py}", f"{base}/commits/main",
        f"{base}/commits/main?page=2", f"{base}/commits/{branch}", f"{base}/commits/main/{py}",
        f"{base}/commits/main/{directory}", f"{base}/commit/{commit}", f"{base}/commit/{merge}",
        f"{base}/commit/{commit}?view=split", f"{base}/compare/main...{branch}", f"{base}/branches", f"{base}/tags",
        f"{base}/tree/v1.0", f"{base}/commits",
    ]
    for url in urls:
        html = get(client, url)
        assert html["Content-Type"].startswith("text/html"), url
        assert "<!doctype html>" in text(html)
        md = get(client, url, HTTP_ACCEPT="text/markdown")
        assert md["Content-Type"].startswith("text/markdown"), url
        assert text(md).startswith("#"), (url, text(md)[:200])
        sep = "&" if "?" in url else "?"
        assert get(client, f"{url}{sep}format=md")["Content-Type"].startswith("text/markdown")
    raw = get(client, f"{base}/raw/main/{py}")
    assert raw.content == subprocess.run(["git", "-C", sample_git, "cat-file", "blob", f"main:{py}"],
                                         capture_output=True, check=True).stdout


def test_tree_lists_what_git_lists_with_last_commits(client, sample_repo, sample_git):
    page = text(get(client, "/alice/sample/tree/main", HTTP_ACCEPT="text/markdown"))
    names = git_out(sample_git, "ls-tree", "--name-only", "main").split("\n")[:-1]
    for name in names:
        last = git_out(sample_git, "log", "-1", "--format=%h", "main", "--", name).strip()
        row = next((line for line in page.splitlines() if f"[{name}" in line), None)
        assert row is not None, name
        assert f"({last})" in row, (name, row)
    html = text(get(client, "/alice/sample"))
    for name in names:
        assert f">{name}</a>" in html


def test_commit_log_matches_git_log_across_pages(client, sample_repo, sample_git):
    expected = git_out(sample_git, "log", "--format=%H", "main").split()
    seen, url = [], "/alice/sample/commits/main"
    while url:
        page = get(client, url, HTTP_ACCEPT="text/markdown")
        body = text(page)
        seen += re.findall(r"^- ([0-9a-f]{40}) ", body, re.M)
        match = re.search(r"^Next page: (\S+)$", body, re.M)
        url = "/alice/sample/commits/main" + match.group(1) if match else None
    assert seen == expected
    # page=N without a cursor gives the same pages.
    page3 = re.findall(r"^- ([0-9a-f]{40}) ", text(get(client, "/alice/sample/commits/main?page=3&format=md")), re.M)
    assert page3 == expected[60:90]


def test_file_history_and_author_filter(client, sample_repo, sample_git):
    py = largest_py(sample_git)
    expected = git_out(sample_git, "log", "--follow", "--format=%H", "main", "--", py).split()
    body = text(get(client, f"/alice/sample/commits/main/{py}?format=md"))
    assert re.findall(r"^- ([0-9a-f]{40}) ", body, re.M) == expected[:30]
    renamed = next(line.split("\t")[2] for line in git_out(sample_git, "log", "--diff-filter=R", "--name-status",
                                                             "--format=", "main").splitlines() if line.startswith("R"))
    expected = git_out(sample_git, "log", "--follow", "--format=%H", "main", "--", renamed).split()
    body = text(get(client, f"/alice/sample/commits/main/{renamed}?format=md"))
    assert re.findall(r"^- ([0-9a-f]{40}) ", body, re.M) == expected[:30] and len(expected) > 1
    author = git_out(sample_git, "log", "-1", "--format=%an", "main").strip()
    expected = git_out(sample_git, "log", "-i", f"--author={author}", "--format=%H", "main").split()
    body = text(get(client, f"/alice/sample/commits/main?format=md&author={quote(author)}"))
    assert re.findall(r"^- ([0-9a-f]{40}) ", body, re.M) == expected[:30]


def test_commit_page_shows_git_stats_and_people(client, sample_repo, sample_git):
    for rev in ("main", "main~1", "main~7", "main~20"):
        sha = git_out(sample_git, "rev-parse", rev).strip()
        numstat = git_out(sample_git, "show", "--numstat", "-M", "--format=", sha).split("\n")
        added = sum(int(line.split()[0]) for line in numstat if line and line.split()[0] != "-")
        deleted = sum(int(line.split()[1]) for line in numstat if line and line.split()[1] != "-")
        body = text(get(client, f"/alice/sample/commit/{sha}?format=md"))
        assert f"+{added} -{deleted}" in body, (rev, body[:400])
        author = git_out(sample_git, "show", "-s", "--format=%an <%ae> %ad", "--date=format:%Y-%m-%d %H:%M:%S %z", sha)
        assert f"author: {author.strip()}" in body
        html = text(get(client, f"/alice/sample/commit/{sha}"))
        assert f"+{added}" in html and f"−{deleted}" in html


def test_compare_lists_commits_and_diff_against_merge_base(client, sample_repo, sample_git):
    branch = feature_branch(sample_git)
    body = text(get(client, f"/alice/sample/compare/main...{branch}?format=md"))
    base = git_out(sample_git, "merge-base", "main", branch).strip()
    assert f"merge base: {base}" in body
    commits = git_out(sample_git, "log", "--format=%H", f"main..{branch}").split()
    assert re.findall(r"^- ([0-9a-f]{40}) ", body, re.M) == commits
    html = text(get(client, f"/alice/sample/compare/main...{branch}"))
    assert "Open pull request" not in html   # anonymous visitors cannot open one


def test_branches_show_ahead_behind_and_tags_their_messages(client, sample_repo, sample_git):
    body = text(get(client, "/alice/sample/branches?format=md"))
    branch = feature_branch(sample_git)
    behind, ahead = git_out(sample_git, "rev-list", "--left-right", "--count", f"main...{branch}").split()
    row = next(line for line in body.splitlines() if line.startswith(f"| {branch} "))
    assert row.rstrip().endswith(f"| {behind} | {ahead} |"), row
    tags = text(get(client, "/alice/sample/tags"))
    assert "The first release." in tags and "v1.0" in tags and "light" in tags


def test_refs_with_slashes_work_everywhere(client, special_repo):
    base, ref = "/alice/special", "feature/deep/x"
    for kind in ("tree", "commits"):
        assert get(client, f"{base}/{kind}/{ref}").status_code == 200
    assert "changed" in text(get(client, f"{base}/blob/{ref}/src/app.py"))
    assert get(client, f"{base}/raw/{ref}/src/app.py").content == b"def main():\n    return 'changed'\n"
    assert get(client, f"{base}/blame/{ref}/src/app.py").status_code == 200
    assert get(client, f"{base}/commits/{ref}/src/app.py").status_code == 200
    assert get(client, f"{base}/compare/main...{ref}").status_code == 200
    archive = get(client, f"{base}/archive/{ref}.tar.gz")
    assert archive["Content-Disposition"] == 'attachment; filename="special-feature-deep-x.tar.gz"'
    assert b"".join(archive.streaming_content)[:2] == b"\x1f\x8b"


def test_missing_things_are_404(client, sample_repo):
    for url in ("/alice/sample/tree/nope", "/alice/sample/blob/main/nope.py", "/alice/sample/commit/" + "0" * 40,
                "/alice/sample/commits/nope", "/alice/sample/compare/main...nope", "/alice/nothing",
                "/nobody", "/alice/sample/archive/nope.zip", "/alice/sample/raw/main/nope"):
        get(client, url, 404)


def test_tree_and_blob_urls_redirect_to_the_right_kind(client, sample_repo, sample_git):
    py = largest_py(sample_git)
    directory = py.rsplit("/", 1)[0]
    assert get(client, f"/alice/sample/tree/main/{py}", 302)["Location"].endswith(f"/blob/main/{py}")
    assert get(client, f"/alice/sample/blob/main/{directory}", 302)["Location"].endswith(f"/tree/main/{directory}")
    assert get(client, "/alice/sample.git", 301)["Location"] == "/alice/sample"
