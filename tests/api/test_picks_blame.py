"""Forge's /forge/cherry-pick, /forge/revert and /forge/blame through raw HTTP (PyGithub has no
such calls), checked against real `git cherry-pick`, `git revert` and `git blame --porcelain`."""
import pytest

from tests.support.gitcli import git, out
from tests.support.sources import make_test_repo

BLAME_REPO = "history-blame"


def _tree(work, rev):
    return out("-C", work, "rev-parse", f"{rev}^{{tree}}").strip()


def _fetch(api_server, tokens, full, work, branch):
    owner, name = full.split("/")
    git("-C", work, "fetch", "-q", api_server.repo_url(owner, name, tokens["alice"]), branch)
    return out("-C", work, "rev-parse", "FETCH_HEAD").strip()


@pytest.fixture
def picked_repo(pushed_repo):
    """main: a.txt, then b.txt; feature: edits a.txt's 2nd line, then adds c.txt."""
    full, work = pushed_repo(
        commits=[{"a.txt": "1\n2\n3\n4\n5\n6\n"}, {"b.txt": "bee\n"}],
        branches={"feature": [{"a.txt": "1\n2 feature\n3\n4\n5\n6\n"}, {"c.txt": "sea\n"}]})
    return full, work


def test_cherry_pick_is_gits(api, api_server, tokens, picked_repo):
    full, work = picked_repo
    commit = out("-C", work, "rev-parse", "feature").strip()
    main = out("-C", work, "rev-parse", "main").strip()
    answer = api.post(f"/repos/{full}/forge/cherry-pick", json={"sha": commit, "branch": "main",
                                                                  "expected_sha": main})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    git("-C", work, "cherry-pick", commit)
    assert body["commit"]["tree"]["sha"] == _tree(work, "HEAD")
    assert body["commit"]["message"] == out("-C", work, "log", "-1", "--format=%B").rstrip("\n")
    assert body["commit"]["author"]["email"] == out("-C", work, "log", "-1", "--format=%ae").strip()
    assert body["parents"][0]["sha"] == main
    assert [f["filename"] for f in body["files"]] == ["c.txt"] and body["stats"]["additions"] == 1
    # the branch moved, and its objects are real: git fetches them
    assert _fetch(api_server, tokens, full, work, "main") == body["sha"]
    assert _tree(work, "FETCH_HEAD") == _tree(work, "HEAD")
    assert api.get(f"/repos/{full}/commits/main").json()["sha"] == body["sha"]


def test_revert_is_gits(api, api_server, tokens, picked_repo):
    full, work = picked_repo
    first = out("-C", work, "rev-parse", "main~1").strip()
    answer = api.post(f"/repos/{full}/forge/revert", json={"sha": first, "branch": "main"})
    assert answer.status_code == 201, answer.text
    git("-C", work, "revert", "--no-edit", first)
    body = answer.json()
    assert body["commit"]["tree"]["sha"] == _tree(work, "HEAD")
    assert body["commit"]["message"] == out("-C", work, "log", "-1", "--format=%B").rstrip("\n")
    assert body["commit"]["message"].startswith('Revert "commit 1"\n\nThis reverts commit ' + first)
    assert _fetch(api_server, tokens, full, work, "main") == body["sha"]
    custom = api.post(f"/repos/{full}/forge/revert", json={"sha": body["sha"], "branch": "main",
                                                           "message": "Bring a.txt back"})
    assert custom.status_code == 201 and custom.json()["commit"]["message"] == "Bring a.txt back"


def test_a_moved_branch_writes_nothing(api, picked_repo):
    full, work = picked_repo
    main = out("-C", work, "rev-parse", "main").strip()
    feature_first = out("-C", work, "rev-parse", "feature~1").strip()
    # the caller saw main~1 as main's tip
    stale = api.post(f"/repos/{full}/forge/cherry-pick", json={
        "sha": feature_first, "branch": "main", "expected_sha": out("-C", work, "rev-parse", "main~1").strip()})
    assert stale.status_code == 409 and "not at the expected commit" in stale.json()["message"]
    assert api.get(f"/repos/{full}/commits/main").json()["sha"] == main


def test_a_conflict_names_gits_paths_and_writes_nothing(api, pushed_repo):
    full, work = pushed_repo(commits=[{"a.txt": "1\n2\n3\n", "b.txt": "b\n"}, {"a.txt": "1\n2 x\n3\n", "b.txt": "bx\n"},
                                      {"a.txt": "1\n2 y\n3\n"}])
    middle = out("-C", work, "rev-parse", "main~1").strip()
    main = out("-C", work, "rev-parse", "main").strip()
    answer = api.post(f"/repos/{full}/forge/revert", json={"sha": middle, "branch": "main"})
    assert answer.status_code == 409
    message = answer.json()["message"]
    assert assert_paths(message) == ["a.txt"], message
    assert git("-C", work, "revert", "--no-edit", middle, check=False).returncode != 0
    assert out("-C", work, "diff", "--name-only", "--diff-filter=U").split() == ["a.txt"]
    git("-C", work, "revert", "--abort")
    assert api.get(f"/repos/{full}/commits/main").json()["sha"] == main


def assert_paths(message):
    assert message.startswith("Merge conflict") and message.endswith("; nothing was written.")
    return message.split(" conflicts in ", 1)[1].rsplit(";", 1)[0].split(", ")


def test_pick_input_and_access(api, api_as, picked_repo):
    full, work = picked_repo
    commit = out("-C", work, "rev-parse", "feature").strip()
    url = f"/repos/{full}/forge/cherry-pick"
    assert api.post(url, json={"sha": "nope", "branch": "main"}).status_code == 422
    assert api.post(url, json={"sha": commit, "branch": "no-such"}).status_code == 404
    assert api.post(url, json={"sha": commit, "branch": "bad..name"}).status_code == 422
    assert api.post(url, json={"sha": commit, "branch": "main", "mainline": 1}).status_code == 422
    assert api.post(url, json={"branch": "main"}).status_code == 422
    assert api.post(url, data="not json", headers={"Content-Type": "application/json"}).status_code in (400, 422)
    assert api_as("carol").post(url, json={"sha": commit, "branch": "main"}).status_code == 403
    assert api_as(None).post(url, json={"sha": commit, "branch": "main"}).status_code == 401
    # an already applied change is refused as git refuses an empty cherry-pick
    main_commit = out("-C", work, "rev-parse", "main").strip()
    empty = api.post(url, json={"sha": main_commit, "branch": "main"})
    assert empty.status_code == 422 and "Nothing to commit" in empty.json()["message"]


# -- blame ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def blame_history(api_server, tokens, tmp_path_factory):
    src = make_test_repo(tmp_path_factory.mktemp("blame") / "src.git", 150)
    api_server.createrepo(f"alice/{BLAME_REPO}")
    git("-C", src, "push", "-q", api_server.repo_url("alice", BLAME_REPO, tokens["alice"]),
        "refs/heads/*:refs/heads/*")
    return f"alice/{BLAME_REPO}", src


def _porcelain(src, ref, path):
    """[(sha, orig_line)] per line and {sha: orig filename} from `git blame --porcelain`."""
    text = out("-C", src, "blame", "--porcelain", ref, "--", path)
    per_line, names, current = [], {}, None
    for line in text.split("\n"):
        parts = line.split(" ")
        if len(parts) >= 3 and len(parts[0]) == 40 and all(c in "0123456789abcdef" for c in parts[0]):
            current = parts[0]
            per_line.append((current, int(parts[1])))
        elif line.startswith("filename "):
            names.setdefault(current, line[len("filename "):])
    return per_line, names


def test_blame_is_git_blames(api, blame_history):
    full, src = blame_history
    files = out("-C", src, "log", "--format=", "--name-only", "-n", "60", "main").split()
    tree = set(out("-C", src, "ls-tree", "-r", "--name-only", "main").split())
    busiest = sorted({f for f in files if f in tree}, key=lambda f: (-files.count(f), f))[:4]
    renamed = out("-C", src, "log", "--format=", "--name-only", "--diff-filter=R", "-M", "main").split()
    busiest += [f for f in renamed if f in tree][:1]
    for ref in ("main", "feature/topic-143"):
        for path in busiest:
            if ref != "main" and path not in out("-C", src, "ls-tree", "-r", "--name-only", ref).split():
                continue
            answer = api.get(f"/repos/{full}/forge/blame/{path}", params={"ref": ref})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            per_line, names = _porcelain(src, ref, path)
            ours = []
            expected_line = 1
            for r in body["ranges"]:
                assert r["start_line"] == expected_line and r["end_line"] == r["start_line"] + r["count"] - 1
                expected_line = r["end_line"] + 1
                ours += [(r["commit"]["sha"], r["orig_start_line"] + k) for k in range(r["count"])]
                assert r["orig_path"] == names[r["commit"]["sha"]]
                assert r["commit"]["summary"] == out("-C", src, "log", "-1", "--format=%s", r["commit"]["sha"]).strip()
            assert ours == per_line, (ref, path)
            assert len(body["lines"]) == len(per_line)
            assert body["commit"] == out("-C", src, "rev-parse", ref).strip() and body["path"] == path


def test_blame_errors(api, api_server, blame_history):
    full, src = blame_history
    some_file = next(f for f in out("-C", src, "ls-tree", "-r", "--name-only", "main").split() if "/" in f)
    assert api.get(f"/repos/{full}/forge/blame/{some_file}").json()["ref"] == "main"
    assert api.get(f"/repos/{full}/forge/blame/{some_file}", params={"lines": "false"}).json()["lines"] is None
    assert api.get(f"/repos/{full}/forge/blame/no/such/file").status_code == 404
    directory = some_file.split("/")[0]
    assert api.get(f"/repos/{full}/forge/blame/{directory}").status_code == 404
    assert api.get(f"/repos/{full}/forge/blame/{some_file}", params={"ref": "no-such"}).status_code == 404


def test_blame_of_a_binary_file_is_422(api, pushed_repo):
    full, _ = pushed_repo(commits=[{"bin.dat": b"\0\1\2binary"}])
    answer = api.get(f"/repos/{full}/forge/blame/bin.dat")
    assert answer.status_code == 422 and "binary" in answer.json()["message"]
