"""Pushing with the real git CLI: whole histories, branches and tags created and deleted, force pushes,
atomic pushes, push options, empty repositories, push-to-create."""
import os

import pytest

from tests.support import wire
from tests.support.gitcli import (PUSH_OK_FLAGS, all_objects, commit_file, fsck, git, ls_remote, out,
                                  parse_porcelain, peeled_tags, popen_git, refs, rev)
from tests.support.throttle_proxy import ThrottleProxy


def test_push_all_and_tags_then_clone(new_repo, small_source, proto, tmp_path):
    repo = new_repo()
    git("-C", small_source, "push", "-q", repo.url, "--all")
    git("-C", small_source, "push", "-q", repo.url, "--tags")
    assert repo.ls_remote() == ls_remote(small_source)
    dest = str(tmp_path / "mirror.git")
    git("clone", "-q", "--mirror", repo.url, dest, proto=proto)
    fsck(dest)
    assert refs(dest) == refs(small_source)
    assert all_objects(dest) == all_objects(small_source)
    assert peeled_tags(dest) == peeled_tags(small_source)
    assert out("-C", dest, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_branch_create_and_delete(new_repo, small_source, tmp_path):
    repo = new_repo(seed=small_source)
    work = str(tmp_path / "work")
    git("clone", "-q", repo.url, work)
    git("-C", work, "checkout", "-q", "-b", "topic/new-thing")
    tip = commit_file(work, "topic.txt", "on a branch\n")
    git("-C", work, "push", "-q", repo.url_with(repo.token, suffix=""), "topic/new-thing")  # URL without .git
    advertised = repo.ls_remote()
    assert advertised["refs/heads/topic/new-thing"] == tip
    assert advertised["refs/heads/main"] == rev(small_source, "main")

    existing = sorted(r for r in refs(small_source, "refs/heads/feature"))
    git("-C", work, "push", "-q", "origin", ":topic/new-thing")
    if existing:
        git("-C", work, "push", "-q", "origin", "--delete", existing[0][len("refs/heads/"):])
    advertised = repo.ls_remote()
    assert "refs/heads/topic/new-thing" not in advertised
    for name in existing[:1]:
        assert name not in advertised
    assert advertised["refs/heads/main"] == rev(small_source, "main")

    fresh = str(tmp_path / "fresh")
    git("clone", "-q", repo.url, fresh)
    fsck(fresh)
    branches = out("-C", fresh, "branch", "-r", "--format=%(refname)").split()
    assert "refs/remotes/origin/topic/new-thing" not in branches


def test_tag_create_and_delete(new_repo, small_source, tmp_path):
    repo = new_repo(seed=small_source)
    work = str(tmp_path / "work")
    git("clone", "-q", repo.url, work)
    git("-C", work, "tag", "lw-1", "HEAD~1")
    git("-C", work, "tag", "-a", "-m", "annotated one", "ann-1", "HEAD")
    git("-C", work, "push", "-q", "origin", "lw-1", "ann-1")
    advertised = repo.ls_remote()
    assert advertised["refs/tags/lw-1"] == rev(work, "HEAD~1")
    assert advertised["refs/tags/ann-1"] == rev(work, "refs/tags/ann-1")
    assert advertised["refs/tags/ann-1^{}"] == rev(work, "HEAD")
    assert "refs/tags/lw-1^{}" not in advertised

    other = str(tmp_path / "other")
    git("clone", "-q", repo.url, other)
    fsck(other)
    assert peeled_tags(other) == peeled_tags(work)
    assert out("-C", other, "cat-file", "-t", "ann-1").strip() == "tag"

    git("-C", work, "push", "-q", "origin", ":refs/tags/lw-1")
    git("-C", work, "push", "-q", "origin", "--delete", "refs/tags/ann-1")
    advertised = repo.ls_remote()
    assert not {"refs/tags/lw-1", "refs/tags/ann-1", "refs/tags/ann-1^{}"} & set(advertised)
    assert advertised["refs/heads/main"] == rev(work, "main")


def test_push_options_are_accepted(new_repo, small_source, tmp_path):
    repo = new_repo(seed=small_source)
    work = str(tmp_path / "work")
    git("clone", "-q", repo.url, work)
    tip = commit_file(work, "opts.txt", "push options\n")
    git("-C", work, "push", "-q", "-o", "foo=bar", "-o", "ci.skip", "origin", "main")
    assert repo.ls_remote()["refs/heads/main"] == tip


def test_atomic_push_with_one_rejected_ref_moves_nothing(new_repo, small_source, tmp_path):
    """One ref is a non-fast-forward pushed without force: with --atomic the other must not move either."""
    repo = new_repo(seed=small_source)
    work = str(tmp_path / "work")
    git("clone", "-q", repo.url, work)
    before = repo.snapshot()
    git("-C", work, "branch", "fresh-branch", "HEAD")
    git("-C", work, "reset", "-q", "--hard", "HEAD~2")
    commit_file(work, "diverged.txt", "not a fast-forward\n")
    proc = git("-C", work, "push", "--porcelain", "--atomic", "origin", "main", "fresh-branch", check=False)
    assert proc.returncode != 0
    assert repo.snapshot() == before
    assert "refs/heads/fresh-branch" not in repo.ls_remote()


def _receive_pack(repo, commands, pack_data, capabilities):
    body = wire.receive_pack_request(commands, pack_data, capabilities)
    return wire.post_receive_pack(repo.server.url, repo.owner, repo.name, body, token=repo.token)


def test_stale_old_value_is_refused(new_repo, small_source):
    """A command whose old value is not the ref's current value (another push won) must not move the ref.

    Sent on the wire, because the git CLI stops a stale push itself before the server sees it."""
    repo = new_repo(seed=small_source)
    main, parent = rev(small_source, "main"), rev(small_source, "main~1")
    grandparent = rev(small_source, "main~2")
    before = repo.snapshot()
    resp = _receive_pack(repo, [(parent, grandparent, "refs/heads/main"),
                                (wire.ZERO, main, "refs/heads/side")], wire.empty_pack(), "report-status")
    assert resp.status == 200, resp
    report = wire.parse_report(resp.body)
    assert report["unpack"] == "ok"
    assert report["refs"]["refs/heads/main"].startswith("ng "), report
    assert report["refs"]["refs/heads/side"] == "ok", report  # not atomic: the other command goes through
    after = repo.ls_remote()
    assert after["refs/heads/main"] == main
    assert after["refs/heads/side"] == main
    assert {k: v for k, v in after.items() if k != "refs/heads/side"} == before["refs"]


def test_atomic_push_with_stale_ref_moves_nothing(new_repo, small_source):
    """The same on the wire with the `atomic` capability: the good command must not be applied either."""
    repo = new_repo(seed=small_source)
    main, parent = rev(small_source, "main"), rev(small_source, "main~1")
    before = repo.snapshot()
    resp = _receive_pack(repo, [(parent, main, "refs/heads/main"),
                                (wire.ZERO, main, "refs/heads/side")], wire.empty_pack(), "report-status atomic")
    assert resp.status < 500, resp
    assert not wire.push_succeeded(resp)
    if resp.status == 200:
        report = wire.parse_report(resp.body)
        assert report is not None and all(v.startswith("ng") for v in report["refs"].values()), report
    assert repo.snapshot() == before


def test_atomic_push_racing_another_push(forge_server, new_repo, small_source, tmp_path):
    """Alice pushes main and a new branch atomically over a slow link; Bob's push to main lands meanwhile.

    Whoever the server lets win, Alice's two refs move together or not at all, and main ends at the commit
    of the push that was told `ok`."""
    repo = new_repo(seed=small_source)
    alice_dir, bob_dir = str(tmp_path / "alice"), str(tmp_path / "bob")
    git("clone", "-q", repo.url, alice_dir)
    git("clone", "-q", repo.url, bob_dir)
    alice_tip = commit_file(alice_dir, "big.bin", os.urandom(1_200_000), "a big file")
    git("-C", alice_dir, "branch", "release", alice_tip)
    bob_tip = commit_file(bob_dir, "bob.txt", "bob was here\n")

    with ThrottleProxy("127.0.0.1", forge_server.port, rate=300 * 1024) as proxy:
        slow_url = repo.url.replace(f":{forge_server.port}/", f":{proxy.port}/")
        alice = popen_git("-C", alice_dir, "push", "--porcelain", "--atomic", slow_url, "main", "release")
        assert proxy.wait_for(400_000, timeout=30), "alice's push did not start"
        bob = git("-C", bob_dir, "push", "--porcelain", "origin", "main", check=False, timeout=120)
        alice_out, alice_err = alice.communicate(timeout=120)

    alice_result = parse_porcelain(alice_out)
    bob_result = parse_porcelain(bob.stdout)
    alice_ok = [alice_result.get(r, ("!",))[0] in PUSH_OK_FLAGS for r in ("refs/heads/main", "refs/heads/release")]
    bob_ok = bob_result.get("refs/heads/main", ("!",))[0] in PUSH_OK_FLAGS
    assert alice_ok[0] == alice_ok[1], f"atomic push half applied:\n{alice_out}\n{alice_err}"
    assert alice_ok[0] != bob_ok, f"alice:\n{alice_out}{alice_err}\nbob:\n{bob.stdout}{bob.stderr}"
    assert (alice.returncode == 0) == alice_ok[0] and (bob.returncode == 0) == bob_ok
    advertised = repo.ls_remote()
    if alice_ok[0]:
        assert advertised["refs/heads/main"] == alice_tip
        assert advertised["refs/heads/release"] == alice_tip
    else:
        assert advertised["refs/heads/main"] == bob_tip
        assert "refs/heads/release" not in advertised
    fresh = str(tmp_path / "fresh")
    git("clone", "-q", repo.url, fresh)
    fsck(fresh)


def test_clone_empty_repository_then_first_push(new_repo, small_source, proto, tmp_path):
    repo = new_repo()
    work = str(tmp_path / "work")
    cloned = git("clone", repo.url, work, proto=proto)
    assert "You appear to have cloned an empty repository" in cloned.stderr
    assert ls_remote(repo.url, proto=proto) == {}
    tip = commit_file(work, "README", "first\n")
    git("-C", work, "push", "-q", "origin", "main")
    assert out("ls-remote", "--symref", repo.url, "HEAD", proto=proto).splitlines() == [
        "ref: refs/heads/main\tHEAD", f"{tip}\tHEAD"]
    again = str(tmp_path / "again")
    git("clone", "-q", repo.url, again, proto=proto)
    fsck(again)
    assert rev(again, "HEAD") == tip


@pytest.mark.forge_only("git http-backend keeps HEAD on the unborn default branch")
def test_first_push_makes_its_branch_the_default(new_repo, tmp_path):
    repo = new_repo()
    work = str(tmp_path / "work")
    git("init", "-q", "-b", "trunk", work)
    tip = commit_file(work, "README", "on trunk\n")
    git("-C", work, "push", "-q", repo.url, "trunk")
    assert out("ls-remote", "--symref", repo.url, "HEAD").splitlines() == ["ref: refs/heads/trunk\tHEAD", f"{tip}\tHEAD"]
    clone = str(tmp_path / "clone")
    git("clone", "-q", repo.url, clone)
    assert out("-C", clone, "symbolic-ref", "HEAD").strip() == "refs/heads/trunk"


@pytest.mark.forge_only("push-to-create is Forge's rule")
def test_push_creates_repository_in_own_namespace(forge_server, alice, small_source, tmp_path):
    name = f"created-by-push-{os.getpid()}"
    url = forge_server.repo_url(alice.name, name, alice.token)
    git("-C", small_source, "push", "-q", "--mirror", url)
    assert ls_remote(url) == ls_remote(small_source)
    clone = str(tmp_path / "clone")
    git("clone", "-q", url, clone)
    fsck(clone)
    assert all_objects(clone) == all_objects(small_source)
    assert out("-C", clone, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


@pytest.mark.forge_only("push-to-create is Forge's rule")
def test_push_to_missing_repository_in_other_namespace_is_refused(forge_server, alice, bob, small_source):
    name = f"not-yours-{os.getpid()}"
    proc = git("-C", small_source, "push", forge_server.repo_url(bob.name, name, alice.token), "main", check=False)
    assert proc.returncode != 0
    assert git("ls-remote", forge_server.repo_url(bob.name, name, bob.token), check=False).returncode != 0
    assert forge_server.store_db(bob.name, name) is None

