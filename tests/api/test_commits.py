"""/commits, /commits/{ref} and /compare/{base}...{head} through PyGithub (the must-show) and raw
HTTP, on a make-test-repo history (merged feature branches, renames, tags) pushed with real git,
every answer compared with the real git CLI's."""
from datetime import datetime, timezone

import pytest

from tests.api.conftest import make_client
from tests.support.gitcli import git, out
from tests.support.sources import make_test_repo

NAME = "history-commits"


@pytest.fixture(scope="module")
def history(api_server, tokens, tmp_path_factory):
    """("alice/history-commits", bare source repository) pushed to the server with git."""
    src = make_test_repo(tmp_path_factory.mktemp("commits") / "src.git", 150)
    git("-C", src, "tag", "-a", "v1.0", "-m", "release 1.0", "main~5")
    git("-C", src, "tag", "light", "main~2")
    api_server.createrepo(f"alice/{NAME}")
    url = api_server.repo_url("alice", NAME, tokens["alice"])
    git("-C", src, "push", "-q", url, "refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*")
    return f"alice/{NAME}", src


@pytest.fixture(scope="module")
def gh_repo(api_server, tokens, history):
    return make_client(api_server, tokens["alice"]).get_repo(history[0])


def _log(src, *args):
    return out("-C", src, "log", "--format=%H", *args).split()


def _shas(commits):
    return [c.sha for c in commits]


def _git_date(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- /commits ------------------------------------------------------------------------------------

def test_list_is_git_log_across_pages(gh_repo, history):
    _, src = history
    # PyGithub pages through the Link header (30 a page here).
    assert _shas(gh_repo.get_commits()) == _log(src, "main")
    assert _shas(gh_repo.get_commits(sha="feature/topic-143")) == _log(src, "feature/topic-143")
    assert _shas(gh_repo.get_commits(sha="v1.0")) == _log(src, "v1.0")
    tip = out("-C", src, "rev-parse", "main~7").strip()
    assert _shas(gh_repo.get_commits(sha=tip)) == _log(src, tip)


def test_path_history_is_git_log_dash_dash_path(gh_repo, history):
    _, src = history
    files = out("-C", src, "log", "--format=", "--name-only", "-n", "40", "main").split()
    busiest_file = max(set(files), key=files.count)
    directory = busiest_file.split("/")[0]
    for ref, path in (("main", busiest_file), ("main", directory), ("feature/topic-143", directory),
                      ("main", busiest_file.rsplit("/", 1)[0])):
        expected = _log(src, ref, "--", path)
        assert expected, path
        assert _shas(gh_repo.get_commits(sha=ref, path=path)) == expected, (ref, path)
    assert _shas(gh_repo.get_commits(path="no/such/file")) == []


def test_author_since_until_are_gits(gh_repo, history):
    _, src = history
    for email in ("grace@example.org", "ada@example.org"):
        expected = _log(src, f"--author={email}", "main")
        assert expected
        assert _shas(gh_repo.get_commits(author=email)) == expected
    times = [int(t) for t in out("-C", src, "log", "--format=%ct", "main").split()]
    since = datetime.fromtimestamp(times[60], timezone.utc)
    until = datetime.fromtimestamp(times[20], timezone.utc)
    assert _shas(gh_repo.get_commits(since=since)) == _log(src, f"--since={_git_date(since)}", "main")
    assert _shas(gh_repo.get_commits(until=until)) == _log(src, f"--until={_git_date(until)}", "main")
    both = _log(src, f"--since={_git_date(since)}", f"--until={_git_date(until)}", "--author=emilie@example.org",
                "main", "--", "contrib")
    assert _shas(gh_repo.get_commits(since=since, until=until, author="emilie@example.org", path="contrib")) == both


def test_raw_paging_link_and_committer(api, history):
    full, src = history
    expected = _log(src, "--committer=linus@example.org", "main")
    got, url = [], f"/repos/{full}/commits?committer=linus@example.org&per_page=7"
    pages = 0
    while url:
        answer = api.get(url)
        assert answer.status_code == 200
        got += [c["sha"] for c in answer.json()]
        pages += 1
        nxt = answer.links.get("next")
        assert "last" not in answer.links   # commit lists are not counted
        url = nxt["url"].split("/api/v3", 1)[1] if nxt else None
    assert got == expected and pages == -(-len(expected) // 7)
    page2 = api.get(f"/repos/{full}/commits", params={"per_page": 10, "page": 2})
    assert [c["sha"] for c in page2.json()] == _log(src, "main")[10:20]
    assert set(page2.links) == {"next", "first", "prev"}


def test_list_errors(api, api_server, history):
    full, _ = history
    answer = api.get(f"/repos/{full}/commits", params={"sha": "no-such-branch"})
    assert answer.status_code == 404
    assert api.get(f"/repos/{full}/commits", params={"since": "not a date"}).status_code == 422
    api_server.createrepo("alice/empty-commits")
    for path in ("/repos/alice/empty-commits/commits", "/repos/alice/empty-commits/commits/main",
                 "/repos/alice/empty-commits/compare/a...b"):
        answer = api.get(path)
        assert answer.status_code == 409 and answer.json()["message"] == "Git Repository is empty."
    assert api.get("/repos/alice/no-such-repo/commits").status_code == 404


# -- /commits/{ref} ------------------------------------------------------------------------------

def _numstat(src, *args):
    """{path: (added, deleted, previous path or None)} from `git diff|show --numstat -M -z`."""
    raw = out("-C", src, *args, "--numstat", "-M", "-z", "--format=")
    fields = raw.split("\0")
    found, i = {}, 0
    while i < len(fields) and fields[i].strip("\n"):
        head = fields[i].lstrip("\n")
        added, deleted, path = head.split("\t")
        previous = None
        if not path:  # a rename: the two paths follow
            previous, path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            i += 1
        found[path] = (0 if added == "-" else int(added), 0 if deleted == "-" else int(deleted), previous)
    return found


def _files(files):
    return {f.filename: (f.additions, f.deletions, f.previous_filename) for f in files}


def test_get_commit_files_and_stats_are_git_shows(gh_repo, history):
    _, src = history
    singles = out("-C", src, "rev-list", "--no-merges", "-n", "12", "main").split()
    merges = out("-C", src, "rev-list", "--merges", "-n", "2", "main").split()
    renames = out("-C", src, "log", "--format=%H", "--diff-filter=R", "-M", "-n", "2", "main").split()
    assert renames
    for sha in singles + renames:
        commit = gh_repo.get_commit(sha)
        expected = _numstat(src, "show", sha)
        assert _files(commit.files) == expected, sha
        assert commit.stats.additions == sum(a for a, _, _ in expected.values())
        assert commit.stats.deletions == sum(d for _, d, _ in expected.values())
        assert commit.stats.total == commit.stats.additions + commit.stats.deletions
        assert commit.commit.message == out("-C", src, "log", "-1", "--format=%B", sha)[:-1]
        assert [p.sha for p in commit.parents] == out("-C", src, "log", "-1", "--format=%P", sha).split()
    for sha in merges:  # a merge's files are against its first parent, as GitHub shows them
        assert _files(gh_repo.get_commit(sha).files) == _numstat(src, "diff", f"{sha}^1", sha)


def test_get_commit_by_any_name(gh_repo, api, history):
    full, src = history
    for name, rev in (("main", "main"), ("feature/topic-11", "feature/topic-11"), ("v1.0", "v1.0^{commit}"),
                      ("light", "light"), ("heads/main", "main")):
        assert gh_repo.get_commit(name).sha == out("-C", src, "rev-parse", rev).strip(), name
    sha = out("-C", src, "rev-parse", "main~3").strip()
    assert gh_repo.get_commit(sha[:8]).sha == sha
    assert gh_repo.get_commit(sha.upper()).sha == sha
    for nonsense in ("no-such-thing", "0" * 40, "x" * 300):
        answer = api.get(f"/repos/{full}/commits/{nonsense}")
        assert answer.status_code == 422
        assert answer.json()["message"] == f"No commit found for SHA: {nonsense}"


# -- /compare ------------------------------------------------------------------------------------

def test_compare_is_gits(gh_repo, history):
    _, src = history
    pairs = [("main~10", "feature/topic-143"), ("feature/topic-11", "main"), ("main", "main~4"),
             ("main~4", "main"), ("main", "main"), ("v1.0", "feature/topic-134"),
             ("main~4", "feature/topic-143")]
    statuses = set()
    for base, head in pairs:
        comparison = gh_repo.compare(base, head)
        ahead = int(out("-C", src, "rev-list", "--count", f"{base}..{head}"))
        behind = int(out("-C", src, "rev-list", "--count", f"{head}..{base}"))
        assert (comparison.ahead_by, comparison.behind_by, comparison.total_commits) == (ahead, behind, ahead)
        assert comparison.merge_base_commit.sha == out("-C", src, "merge-base", base, head).strip()
        assert comparison.base_commit.sha == out("-C", src, "rev-parse", f"{base}^{{commit}}").strip()
        assert [c.sha for c in comparison.commits] == out("-C", src, "rev-list", "--reverse", f"{base}..{head}").split()
        assert _files(comparison.files) == _numstat(src, "diff", f"{base}...{head}")
        expected_status = ("diverged" if ahead and behind else "ahead" if ahead else "behind" if behind
                           else "identical")
        assert comparison.status == expected_status
        statuses.add(comparison.status)
    assert statuses == {"diverged", "ahead", "behind", "identical"}


def test_compare_two_dots_paging_and_errors(api, history):
    full, src = history
    expected = out("-C", src, "rev-list", "--reverse", "main~40..main").split()
    two_dots = api.get(f"/repos/{full}/compare/main~40..main")
    assert two_dots.status_code == 200
    assert [c["sha"] for c in two_dots.json()["commits"]] == expected
    paged = api.get(f"/repos/{full}/compare/main~40...main", params={"per_page": 10, "page": 2})
    assert [c["sha"] for c in paged.json()["commits"]] == expected[10:20]
    assert "next" in paged.links
    assert api.get(f"/repos/{full}/compare/alice:main~3...alice:main").json()["ahead_by"] == 3
    for bad in ("main", "main...no-such", "bob:main...main"):
        assert api.get(f"/repos/{full}/compare/{bad}").status_code == 404, bad


def test_odd_input_never_fails_the_server(api, history):
    full, _ = history
    odd = ["", "..", "...", "%00", "main~99999", "main^3", "HEAD", "refs/heads/main", "\u00e9t\u00e9", "a" * 2000,
           "feature/topic-11/comments", "::", "main...", "...main", "main....main"]
    for text in odd:
        for path, params in ((f"/repos/{full}/commits", {"sha": text}), (f"/repos/{full}/commits", {"path": text}),
                             (f"/repos/{full}/commits", {"author": text, "committer": text}),
                             (f"/repos/{full}/commits/{text}", {}), (f"/repos/{full}/compare/{text}", {}),
                             (f"/repos/{full}/compare/main...{text}", {})):
            answer = api.get(path, params=params)
            assert answer.status_code in (200, 404, 422), (path, params, answer.status_code, answer.text[:200])
    for params in ({"page": 10**12}, {"per_page": -3}, {"page": 0, "per_page": 1000}, {"since": "0001-01-01T00:00:00Z"},
                   {"until": "9999-12-31T23:59:59Z", "page": 10**6}):
        assert api.get(f"/repos/{full}/commits", params=params).status_code == 200, params
