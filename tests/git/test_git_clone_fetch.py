"""Clone, ls-remote and fetch over smart HTTP, protocol v0 and v2, with the real git CLI.

Every clone is checked with `git fsck --strict` and compared with the source: the same reachable objects,
the same refs, the same annotated tags with the same peeled values, HEAD on the default branch.
"""
import re

from tests.support.gitcli import (all_objects, clone_refs_as_remote, commit_file, fsck, git, ls_remote, out,
                                  peeled_tags, refs, rev, stored_objects)


def assert_clone_matches(clone, source):
    fsck(clone)
    assert all_objects(clone) == all_objects(source)
    assert clone_refs_as_remote(clone) == refs(source, "refs/heads", "refs/tags")
    assert peeled_tags(clone) == peeled_tags(source)


def test_full_clone_is_identical(hist_repo, source_repo, proto, tmp_path):
    dest = str(tmp_path / "clone")
    git("clone", "-q", hist_repo.url, dest, proto=proto)
    assert_clone_matches(dest, source_repo)
    # HEAD: the default branch is checked out, and origin/HEAD points at it
    assert out("-C", dest, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert out("-C", dest, "symbolic-ref", "refs/remotes/origin/HEAD").strip() == "refs/remotes/origin/main"
    assert rev(dest, "HEAD") == rev(source_repo, "main")
    assert out("-C", dest, "status", "--porcelain") == ""


def test_mirror_clone_has_exactly_the_source_refs(hist_repo, source_repo, proto, tmp_path):
    dest = str(tmp_path / "mirror.git")
    git("clone", "-q", "--mirror", hist_repo.url, dest, proto=proto)
    fsck(dest)
    assert refs(dest) == refs(source_repo)
    assert all_objects(dest) == all_objects(source_repo)
    assert out("-C", dest, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_clone_without_dot_git_suffix(hist_repo, source_repo, tmp_path):
    dest = str(tmp_path / "clone")
    git("clone", "-q", "--bare", hist_repo.url_with(hist_repo.token, suffix=""), dest)
    fsck(dest)
    assert refs(dest) == refs(source_repo, "refs/heads", "refs/tags")


def test_ls_remote_shows_all_refs_and_peeled_tags(hist_repo, source_repo, proto):
    advertised = ls_remote(hist_repo.url, proto=proto)
    assert advertised == ls_remote(source_repo)
    for name, oid in refs(source_repo, "refs/tags").items():
        kind = out("-C", source_repo, "cat-file", "-t", oid).strip()
        if kind == "tag":
            assert advertised[name + "^{}"] == rev(source_repo, name + "^{}")


def test_ls_remote_symref_head(hist_repo, proto):
    text = out("ls-remote", "--symref", hist_repo.url, "HEAD", proto=proto)
    assert "ref: refs/heads/main\tHEAD" in text.splitlines()


def test_protocol_v2_is_really_used(hist_repo, tmp_path):
    """git falls back to v0 silently when a server ignores Git-Protocol: check the server's answer."""
    trace = tmp_path / "trace"
    git("ls-remote", hist_repo.url, proto="2", env={"GIT_TRACE_PACKET": str(trace)})
    assert re.search(r"git< version 2$", trace.read_text(), re.M), "the server did not answer with protocol v2"
    trace.unlink()
    git("clone", "-q", "--bare", hist_repo.url, tmp_path / "c.git", proto="2", env={"GIT_TRACE_PACKET": str(trace)})
    text = trace.read_text()
    assert re.search(r"clone< version 2$", text, re.M) or re.search(r"git< version 2$", text, re.M)
    assert re.search(r"> command=fetch$", text, re.M), "clone did not use the v2 fetch command"


def fetch_and_check(reader, writer, tip, proto):
    """Fetch into `reader`: it gets `tip` and the objects new since what it had (plus a few bases
    completing a thin pack), not the history; and it stays whole."""
    before, old = stored_objects(reader), rev(reader, "origin/main")
    git("-C", reader, "fetch", "-q", "origin", proto=proto)
    assert rev(reader, "origin/main") == tip
    new = len(out("-C", writer, "rev-list", "--objects", tip, "^" + old).splitlines())
    received = stored_objects(reader) - before
    assert new <= received <= new + 20, f"fetched {received} objects for {new} new ones"
    fsck(reader)


def test_incremental_fetch(new_repo, small_source, proto, tmp_path):
    repo = new_repo(seed=small_source)
    writer, reader = str(tmp_path / "writer"), str(tmp_path / "reader")
    git("clone", "-q", repo.url, writer, proto=proto)
    git("clone", "-q", repo.url, reader, proto=proto)

    # one new commit: only its few objects come over, not the history
    tip = commit_file(writer, "docs/one.txt", "one new file\n")
    git("-C", writer, "push", "-q", "origin", "main")
    fetch_and_check(reader, writer, tip, proto)
    assert all_objects(reader) == all_objects(writer)

    # fifty new commits, each changing one file
    for i in range(50):
        tip = commit_file(writer, f"docs/many/{i % 7}.txt", f"revision {i}\n" * (i + 1), f"commit {i}")
    git("-C", writer, "push", "-q", "origin", "main")
    fetch_and_check(reader, writer, tip, proto)
    assert out("-C", reader, "rev-list", "--count", "main..origin/main").strip() == "51"
    assert all_objects(reader) == all_objects(writer)

    # and a fresh clone sees the same
    fresh = str(tmp_path / "fresh")
    git("clone", "-q", repo.url, fresh, proto=proto)
    fsck(fresh)
    assert all_objects(fresh) == all_objects(writer)


def test_fetch_after_force_push_shows_new_history(new_repo, small_source, proto, tmp_path):
    repo = new_repo(seed=small_source)
    writer, reader = str(tmp_path / "writer"), str(tmp_path / "reader")
    git("clone", "-q", repo.url, writer)
    git("clone", "-q", repo.url, reader, proto=proto)
    old_tip = rev(writer, "main")

    git("-C", writer, "reset", "-q", "--hard", "main~3")
    new_tip = commit_file(writer, "rewritten.txt", "history was rewritten\n")
    plain = git("-C", writer, "push", "origin", "main", check=False)
    assert plain.returncode != 0
    assert "rejected" in plain.stderr
    assert repo.ls_remote()["refs/heads/main"] == old_tip

    git("-C", writer, "push", "-q", "--force", "origin", "main")
    assert repo.ls_remote()["refs/heads/main"] == new_tip

    fetched = git("-C", reader, "fetch", "origin", proto=proto)
    assert "forced update" in fetched.stderr
    assert rev(reader, "origin/main") == new_tip
    assert git("-C", reader, "merge-base", "--is-ancestor", old_tip, "origin/main", check=False).returncode == 1
    fsck(reader)

    fresh = str(tmp_path / "fresh")
    git("clone", "-q", repo.url, fresh, proto=proto)
    fsck(fresh)
    assert rev(fresh, "HEAD") == new_tip
    assert old_tip not in out("-C", fresh, "rev-list", "HEAD").split()


def test_protocol_v1_clone(hist_repo, source_repo, tmp_path):
    trace = tmp_path / "trace"
    dest = str(tmp_path / "clone.git")
    git("clone", "-q", "--bare", hist_repo.url, dest, proto="1", env={"GIT_TRACE_PACKET": str(trace)})
    assert re.search(r"< version 1$", trace.read_text(), re.M), "the server did not answer with protocol v1"
    fsck(dest)
    assert refs(dest) == refs(source_repo, "refs/heads", "refs/tags")


def test_fetch_negotiates_past_many_unknown_local_commits(new_repo, small_source, proto, tmp_path):
    """The client first offers 150 commits the server never saw (several negotiation rounds over
    stateless HTTP), then ones it has: the fetch must still find the common base and send only what is new."""
    repo = new_repo(seed=small_source)
    writer, reader = str(tmp_path / "writer"), str(tmp_path / "reader")
    git("clone", "-q", repo.url, writer)
    git("clone", "-q", repo.url, reader, proto=proto)
    git("-C", reader, "checkout", "-q", "-b", "local-work")
    for i in range(150):
        git("-C", reader, "commit", "-q", "--allow-empty", "-m", f"local {i}")
    for i in range(3):
        tip = commit_file(writer, f"upstream-{i}.txt", f"upstream {i}\n")
    git("-C", writer, "push", "-q", "origin", "main")

    fetch_and_check(reader, writer, tip, proto)
