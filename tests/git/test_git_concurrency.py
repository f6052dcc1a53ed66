"""Pushes that arrive at the same moment: ten clones push to one branch, ten push to ten branches.

What the server tells each client must be true afterwards: a push answered `ok` is in the branch's history,
a rejected one is not (no lost update), and at least one of the racing pushes succeeds."""
import threading

from tests.support.gitcli import PUSH_OK_FLAGS, commit_file, fsck, git, ls_remote, out, parse_porcelain, rev

N = 10


def _clones(repo, tmp_path, n):
    base = str(tmp_path / "base")
    git("clone", "-q", repo.url, base)
    works = []
    for i in range(n):
        work = str(tmp_path / f"w{i}")
        git("clone", "-q", base, work)
        git("-C", work, "remote", "set-url", "origin", repo.url)
        works.append(work)
    return base, works


def _push_together(works, refspecs):
    """Runs `git push --porcelain origin REFSPEC` in every work tree at the same moment."""
    barrier = threading.Barrier(len(works))
    results = [None] * len(works)

    def push(i):
        barrier.wait()
        results[i] = git("-C", works[i], "push", "--porcelain", "origin", refspecs[i], check=False, timeout=180)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(len(works))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_ten_concurrent_pushes_to_one_branch(new_repo, small_source, tmp_path):
    repo = new_repo(seed=small_source)
    base, works = _clones(repo, tmp_path, N)
    commits = [commit_file(w, f"racer-{i}.txt", f"racer {i}\n") for i, w in enumerate(works)]

    results = _push_together(works, ["main"] * N)

    ok, rejected = [], []
    for i, proc in enumerate(results):
        status = parse_porcelain(proc.stdout).get("refs/heads/main")
        assert status is not None, f"push {i} got no status for main:\n{proc.stdout}\n{proc.stderr}"
        (ok if status[0] in PUSH_OK_FLAGS else rejected).append(i)
        assert (proc.returncode == 0) == (status[0] in PUSH_OK_FLAGS), proc
    assert ok, "no push succeeded"

    git("-C", base, "fetch", "-q", "origin")
    history = set(out("-C", base, "rev-list", "origin/main").split())
    for i in ok:
        assert commits[i] in history, f"push {i} was told ok but its commit is not on main (lost update)"
    for i in rejected:
        assert commits[i] not in history, f"push {i} was rejected but its commit is on main"
    assert ls_remote(repo.url)["refs/heads/main"] == rev(base, "origin/main")
    fresh = str(tmp_path / "fresh")
    git("clone", "-q", repo.url, fresh)
    fsck(fresh)


def test_ten_concurrent_pushes_to_ten_branches(new_repo, small_source, tmp_path):
    repo = new_repo(seed=small_source)
    base, works = _clones(repo, tmp_path, N)
    commits = [commit_file(w, f"branch-{i}.txt", f"branch {i}\n") for i, w in enumerate(works)]

    results = _push_together(works, [f"main:refs/heads/parallel/{i}" for i in range(N)])

    for i, proc in enumerate(results):
        status = parse_porcelain(proc.stdout).get(f"refs/heads/parallel/{i}")
        assert proc.returncode == 0 and status and status[0] == "*", f"push {i}:\n{proc.stdout}\n{proc.stderr}"
    advertised = ls_remote(repo.url)
    for i in range(N):
        assert advertised[f"refs/heads/parallel/{i}"] == commits[i]
    assert advertised["refs/heads/main"] == rev(small_source, "main")
    fresh = str(tmp_path / "fresh")
    git("clone", "-q", "--mirror", repo.url, fresh)
    fsck(fresh)


def test_clones_while_another_repository_receives_a_push(hist_repo, source_repo, new_repo, small_source, tmp_path):
    """Reads keep working, and stay correct, while a push is being received."""
    target = new_repo()
    errors = []

    def clone(i):
        try:
            dest = str(tmp_path / f"c{i}")
            git("clone", "-q", "--bare", hist_repo.url, dest)
            assert rev(dest, "main") == rev(source_repo, "main")
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=clone, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    git("-C", small_source, "push", "-q", "--mirror", target.url)
    for t in threads:
        t.join()
    assert not errors, errors
    assert target.ls_remote() == ls_remote(small_source)


def test_racing_pushes_that_create_the_same_repository(uncreated_repo, small_source, tmp_path):
    """Pushes to a repository that does not exist yet race to create it: one creates it, every
    push gets a real answer (no error page), and exactly one branch tip wins."""
    repo = uncreated_repo
    works = []
    for i in range(5):
        work = str(tmp_path / f"w{i}")
        git("clone", "-q", small_source, work)
        git("-C", work, "remote", "set-url", "origin", repo.url)
        commit_file(work, f"creator-{i}.txt", f"creator {i}\n")
        works.append(work)
    results = _push_together(works, ["main"] * len(works))
    statuses = [parse_porcelain(proc.stdout).get("refs/heads/main") for proc in results]
    assert all(statuses), [proc.stderr for proc in results]
    winners = [i for i, status in enumerate(statuses) if status[0] in PUSH_OK_FLAGS]
    assert len(winners) == 1, statuses
    assert ls_remote(repo.url)["refs/heads/main"] == rev(works[winners[0]], "HEAD")
