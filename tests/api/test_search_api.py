"""/search/code and /search/commits through PyGithub, compared with what real git says of the same
repositories; and the privacy rule: a private repository shows in no one else's results, not even
in a count.

The repositories are pushed once for the module. Words are made unique per run, so other tests'
repositories on the shared server never match. No test waits for the background indexer: the
search routes bring the index up to date before answering, which the push-then-search test shows."""
import uuid
from pathlib import Path

import pytest

from tests.api.conftest import write_files
from tests.support.gitcli import git, out

RUN = uuid.uuid4().hex[:8]
NEEDLE = f"nd{RUN}"        # a word in code
WORD = f"wq{RUN}"          # a word in commit messages
SECRET = f"sx{RUN}"        # in a private repository only
ALICE_EMAIL = "alice@example.org"


def commit(work, message, files, date, email="tester@example.org"):
    write_files(work, files)
    git("-C", str(work), "add", "-A")
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_EMAIL": email}
    git("-C", str(work), "commit", "-q", "-m", message, env=env)


class Repos:
    def __init__(self, server, tokens, api, root):
        self.server, self.tokens, self.api, self.root = server, tokens, api, Path(root)

    def create(self, name, private=False):
        # Through the API: a `manage createrepo` costs a Django start-up (~2 s).
        assert self.api.post("/user/repos", json={"name": name, "private": private}).status_code == 201
        work = self.root / name
        git("init", "-q", "-b", "main", str(work))
        return work

    def push(self, name, work):
        git("-C", str(work), "push", "-q", self.server.repo_url("alice", name, self.tokens["alice"]), "--all")


@pytest.fixture(scope="module")
def repos(api_server, tokens, api, tmp_path_factory):
    """alice/x (public: code and a merged branch), alice/y (public), alice/p (PRIVATE, the secret)."""
    assert api.patch("/user", json={"email": ALICE_EMAIL}).status_code == 200  # for author:alice
    made = Repos(api_server, tokens, api, tmp_path_factory.mktemp("search-repos"))
    names = {key: f"search-{key}-{RUN}" for key in ("x", "y", "p")}

    x = made.create(names["x"])
    commit(x, f"Add the widget parser {WORD}", {
        "src/app.py": f"def {NEEDLE}():\n    return 1\n",
        "docs/guide.md": f"# Guide\n\nUse {NEEDLE} carefully.\n",
        "lib/other.py": "nothing here\n",
        "notes.txt": f"{NEEDLE}s is not the word\n",
    }, "2021-01-10T12:00:00+00:00")
    commit(x, f"Fix the renderer crash {WORD}", {"lib/other.py": f"x = {NEEDLE}\n"},
           "2022-06-01T12:00:00+00:00", email=ALICE_EMAIL)
    git("-C", str(x), "checkout", "-q", "-b", "side")
    commit(x, f"Side work {WORD}", {"side.txt": "side\n"}, "2022-07-01T12:00:00+00:00")
    git("-C", str(x), "checkout", "-q", "main")
    git("-C", str(x), "merge", "-q", "--no-ff", "side", "-m", f"Merge side {WORD}",
        env={"GIT_AUTHOR_DATE": "2022-08-01T12:00:00+00:00", "GIT_COMMITTER_DATE": "2022-08-01T12:00:00+00:00"})
    commit(x, "Unrelated change", {"other.md": "more\n"}, "2023-01-01T12:00:00+00:00")
    made.push(names["x"], x)

    y = made.create(names["y"])
    commit(y, f"Start {WORD}", {"a.py": f"print({NEEDLE!r})\nvalue = {NEEDLE}\n"}, "2020-05-05T12:00:00+00:00")
    made.push(names["y"], y)

    p = made.create(names["p"], private=True)
    commit(p, f"Private {SECRET} {WORD}", {"secret.txt": f"the {SECRET} lives here\n", "x.py": f"{NEEDLE}\n"},
           "2022-03-03T12:00:00+00:00")
    made.push(names["p"], p)
    return {key: f"alice/{name}" for key, name in names.items()} | {"work": {"x": x, "y": y, "p": p},
                                                                   "made": made}


def git_grep_files(work, word):
    return sorted(out("-C", str(work), "grep", "-l", "-w", "-i", word, "HEAD").replace("HEAD:", "").split())


def test_pygithub_search_code_in_one_repository(gh, repos):
    work = repos["work"]["x"]
    results = gh.search_code(f"{NEEDLE} repo:{repos['x']}")
    assert results.totalCount == 3
    items = list(results)
    assert sorted(item.path for item in items) == git_grep_files(work, NEEDLE)
    for item in items:
        assert item.sha == out("-C", str(work), "rev-parse", f"HEAD:{item.path}").strip()
        assert item.name == item.path.rsplit("/", 1)[-1]
        assert item.repository.full_name == repos["x"]
        assert item.repository.private is False
        head = out("-C", str(work), "rev-parse", "HEAD").strip()
        assert item.html_url.endswith(f"/{repos['x']}/blob/{head}/{item.path}")
        assert item.url.endswith(f"?ref={head}")
    assert results.incomplete_results is False


def test_text_matches_when_asked_for(gh, api, repos):
    [item] = list(gh.search_code(f"{NEEDLE} repo:{repos['x']} path:docs", highlight=True))
    [match] = item.text_matches
    assert match["object_type"] == "FileContent" and match["property"] == "content"
    assert match["fragment"] == f"Use {NEEDLE} carefully."
    [span] = match["matches"]
    start, end = span["indices"]
    assert match["fragment"][start:end] == span["text"] == NEEDLE
    # Without the media type there are none.
    plain = api.get("/search/code", params={"q": f"{NEEDLE} repo:{repos['x']} path:docs"}).json()
    assert "text_matches" not in plain["items"][0]


@pytest.mark.parametrize("qualifiers, paths", [
    ("path:src", ["src/app.py"]),
    ("path:/lib/", ["lib/other.py"]),
    ("extension:md", ["docs/guide.md"]),
    ("language:python", ["lib/other.py", "src/app.py"]),
    ("language:Python extension:md", []),
])
def test_code_qualifiers(api, repos, qualifiers, paths):
    body = api.get("/search/code", params={"q": f"{NEEDLE} repo:{repos['x']} {qualifiers}"}).json()
    assert sorted(item["path"] for item in body["items"]) == paths
    assert body["total_count"] == len(paths)


def test_user_qualifier_and_several_repositories(api, repos):
    both = api.get("/search/code", params={"q": f"{NEEDLE} repo:{repos['x']} repo:{repos['y']}"}).json()
    assert both["total_count"] == 4
    assert {item["repository"]["full_name"] for item in both["items"]} == {repos["x"], repos["y"]}
    # user:alice, as alice: her private repository too.
    mine = api.get("/search/code", params={"q": f"{NEEDLE} user:alice"}).json()
    assert mine["total_count"] == 5
    assert repos["p"] in {item["repository"]["full_name"] for item in mine["items"]}


def test_pages_and_link_header(api, repos):
    q = f"{NEEDLE} user:alice"
    first = api.get("/search/code", params={"q": q, "per_page": 2})
    assert len(first.json()["items"]) == 2
    assert 'rel="next"' in first.headers["Link"] and "page=3" in first.headers["Link"]  # last page: 3
    seen = [item["html_url"] for item in first.json()["items"]]
    for page in (2, 3):
        seen += [item["html_url"] for item in
                 api.get("/search/code", params={"q": q, "per_page": 2, "page": page}).json()["items"]]
    assert len(seen) == len(set(seen)) == 5
    everything = api.get("/search/code", params={"q": q}).json()
    assert sorted(seen) == sorted(item["html_url"] for item in everything["items"])
    assert api.get("/search/code", params={"q": q, "page": 11, "per_page": 100}).status_code == 422


def test_a_private_repository_never_leaks(api, api_as, gh, repos):
    for query in (SECRET, f"{SECRET} repo:{repos['p']}", f"{SECRET} user:alice", f"{SECRET} is:private"):
        assert gh.search_code(query).totalCount == 1  # alice, its owner
        for stranger in ("carol", None):
            body = api_as(stranger).get("/search/code", params={"q": query}).json()
            assert body["total_count"] == 0 and body["items"] == [], (stranger, query)
            if "repo:" in query:
                # One repository named: nothing capped, and nothing said about the private one.
                assert body["incomplete_results"] is False, (stranger, query)
            body = api_as(stranger).get("/search/commits", params={"q": query}).json()
            assert body["total_count"] == 0 and body["items"] == [], (stranger, query)
    # The private repository's files do not add to the stranger's counts of a shared word either.
    assert api_as("carol").get("/search/code", params={"q": f"{NEEDLE} user:alice"}).json()["total_count"] == 4
    assert api_as("carol").get("/search/commits", params={"q": f"{WORD} user:alice"}).json()["total_count"] == 5


def test_missing_or_bad_query_is_validation_failed(api):
    for params in ({}, {"q": "  "}):
        answer = api.get("/search/code", params=params)
        assert answer.status_code == 422
        assert answer.json()["message"] == "Validation Failed"
        error = answer.json()["errors"][0]
        assert (error["resource"], error["field"], error["code"]) == ("Search", "q", "missing")
        assert api.get("/search/commits", params=params).status_code == 422
    assert api.get("/search/code", params={"q": "x language:klingon"}).status_code == 422
    assert api.get("/search/code", params={"q": "x filename:a.py"}).status_code == 422
    assert api.get("/search/code", params={"q": "repo:alice/x"}).status_code == 422  # no text
    assert api.get("/search/commits", params={"q": "x author-date:yesterday"}).status_code == 422
    assert api.get("/search/commits", params={"q": "x merge:maybe"}).status_code == 422
    assert api.get("/search/commits", params={"q": "x", "sort": "stars"}).status_code == 422


def test_search_right_after_a_push_sees_it(gh, repos):
    made = repos["made"]
    name = f"search-fresh-{RUN}"
    work = made.create(name)
    first, second = f"ff{RUN}", f"gg{RUN}"
    commit(work, "one", {"f.txt": f"{first}\n"}, "2024-01-01T00:00:00+00:00")
    made.push(name, work)
    assert [i.path for i in gh.search_code(f"{first} repo:alice/{name}")] == ["f.txt"]
    commit(work, "two", {"f.txt": f"{second}\n", "g.txt": f"{second}\n"}, "2024-01-02T00:00:00+00:00")
    made.push(name, work)
    assert gh.search_code(f"{first} repo:alice/{name}").totalCount == 0
    assert sorted(i.path for i in gh.search_code(f"{second} repo:alice/{name}")) == ["f.txt", "g.txt"]


# --- commits ----------------------------------------------------------------------------------------

def git_log(work, *args):
    return out("-C", str(work), "log", "--all", "--format=%H", *args).split()


def test_pygithub_search_commits(gh, repos):
    work = repos["work"]["x"]
    results = gh.search_commits(f"{WORD} repo:{repos['x']}")
    expected = git_log(work, f"--grep={WORD}")
    assert results.totalCount == len(expected) == 4
    items = list(results)
    assert sorted(c.sha for c in items) == sorted(expected)
    dates = [c.commit.committer.date for c in items]
    assert dates == sorted(dates, reverse=True)  # newest first
    assert all(c.repository.full_name == repos["x"] for c in items)
    assert items[0].commit.message.rstrip("\n") == f"Merge side {WORD}"
    # Words must all be in the message.
    [fix] = gh.search_commits(f"renderer crash {WORD} repo:{repos['x']}")
    assert fix.sha == git_log(work, "--grep=renderer crash")[0]
    assert fix.author.login == "alice"  # the account with the commit's e-mail


@pytest.mark.parametrize("qualifiers, git_args", [
    ("author:alice", [f"--author={ALICE_EMAIL}"]),
    (f"author-email:{ALICE_EMAIL}", [f"--author={ALICE_EMAIL}"]),
    ("merge:true", ["--merges"]),
    ("merge:false", ["--no-merges"]),
    ("author-date:>=2022-06-01", ["--since=2022-06-01T00:00:00Z"]),
    ("committer-date:2021-01-01..2022-06-30", ["--since=2021-01-01T00:00:00Z", "--until=2022-06-30T23:59:59Z"]),
    ("author-date:<2022-06-01", ["--until=2022-05-31T23:59:59Z"]),
])
def test_commit_qualifiers_agree_with_git_log(api, repos, qualifiers, git_args):
    work = repos["work"]["x"]
    body = api.get("/search/commits", params={"q": f"{WORD} repo:{repos['x']} {qualifiers}"}).json()
    expected = git_log(work, f"--grep={WORD}", *git_args)
    assert sorted(item["sha"] for item in body["items"]) == sorted(expected)
    assert body["total_count"] == len(expected)


def test_commits_without_words_and_sorting(api, repos):
    work = repos["work"]["x"]
    asc = api.get("/search/commits", params={"q": f"repo:{repos['x']}", "sort": "author-date", "order": "asc"})
    shas = [item["sha"] for item in asc.json()["items"]]
    assert shas == list(reversed(out("-C", str(work), "log", "--all", "--format=%H", "--author-date-order").split()))
    head = out("-C", str(work), "rev-parse", "HEAD").strip()
    by_hash = api.get("/search/commits", params={"q": f"hash:{head[:10]} repo:{repos['x']}"}).json()
    assert [item["sha"] for item in by_hash["items"]] == [head]


def test_commit_pages_across_repositories(api, repos):
    q = f"{WORD} user:alice"
    everything = api.get("/search/commits", params={"q": q}).json()
    assert everything["total_count"] == 6  # x: 4, y: 1, p: 1 (alice may read her private one)
    seen = []
    for page in (1, 2, 3):
        answer = api.get("/search/commits", params={"q": q, "per_page": 2, "page": page})
        seen += [item["sha"] for item in answer.json()["items"]]
    assert seen == [item["sha"] for item in everything["items"]]
    dates = [item["commit"]["committer"]["date"] for item in everything["items"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("q", [
    '"', 'x "unclosed', "repo:", "repo:/", "repo:alice", "user: x", 'path:"', "-repo:alice/x x", "lit:", "lit: a.b",
    "a\x00b", "@author:x", "case:yes X", "*", "NEAR(a b)", "é ü", "x" * 300, "x.y( repo:alice/none",
    "hash:zz", "hash:abc", "parent:abc", "tree:" + "f" * 40, "author-date:2020-13-45", "author-date:>",
    "committer-date:*..*", "author:", "author:nobody-at-all x", "is:weird x", "x in:path", "x fork:true",
])
def test_odd_queries_never_fail(api, api_as, q):
    for caller in (api, api_as(None)):
        for route in ("/search/code", "/search/commits"):
            answer = caller.get(route, params={"q": q})
            assert answer.status_code in (200, 422), (route, q, answer.text)
            body = answer.json()
            assert ("items" in body) if answer.status_code == 200 else body["message"] == "Validation Failed"
