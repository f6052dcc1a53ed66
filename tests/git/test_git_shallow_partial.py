"""Shallow clones (--depth, --shallow-since, --deepen, --unshallow) and partial clones (--filter) over HTTP.

The expected result of each operation is what git's own http-backend gives for the same command on the
source repository (the oracle, `reference_url`): same shallow boundary, same objects, same refs, same tags.
"""
import datetime
import glob
import os

import pytest

from tests.support.gitcli import (all_objects, fsck, git, object_ids, out, peeled_tags, refs, rev,
                                  stored_objects)


def shallow_lines(clone):
    path = os.path.join(clone, ".git", "shallow")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return sorted(f.read().split())


def oracle(reference_url, tmp_path, proto, *args):
    """The same clone of the source from git's own http-backend; later fetches in it go there too."""
    dest = str(tmp_path / "oracle")
    git("clone", "-q", *args, reference_url, dest, proto=proto)
    git("-C", dest, "config", "protocol.version", proto)
    return dest


def assert_same_clone(clone, expected):
    fsck(clone)
    assert shallow_lines(clone) == shallow_lines(expected)
    assert all_objects(clone) == all_objects(expected)
    assert refs(clone) == refs(expected)
    assert peeled_tags(clone) == peeled_tags(expected)


def test_depth_1(hist_repo, source_repo, reference_urls, proto, tmp_path):
    clone = str(tmp_path / "clone")
    git("clone", "-q", "--depth", "1", hist_repo.url, clone, proto=proto)
    assert out("-C", clone, "rev-list", "--count", "HEAD").strip() == "1"
    assert shallow_lines(clone) == [rev(source_repo, "main")]
    assert rev(clone, "HEAD") == rev(source_repo, "main")
    assert out("-C", clone, "status", "--porcelain") == ""
    assert_same_clone(clone, oracle(reference_urls["source"], tmp_path, proto, "--depth", "1"))


def test_depth_5_then_deepen_then_unshallow(hist_repo, source_repo, reference_urls, proto, tmp_path):
    clone = str(tmp_path / "clone")
    expected = oracle(reference_urls["source"], tmp_path, proto, "--depth", "5")
    git("clone", "-q", "--depth", "5", hist_repo.url, clone, proto=proto)
    assert int(out("-C", clone, "rev-list", "--count", "--first-parent", "HEAD")) == 5
    assert out("-C", clone, "rev-list", "--count", "HEAD") == out("-C", expected, "rev-list", "--count", "HEAD")
    assert_same_clone(clone, expected)

    git("-C", clone, "fetch", "-q", "--deepen", "3", proto=proto)
    git("-C", expected, "fetch", "-q", "--deepen", "3")
    assert int(out("-C", clone, "rev-list", "--count", "--first-parent", "HEAD")) == 8
    assert_same_clone(clone, expected)

    git("-C", clone, "fetch", "-q", "--unshallow", proto=proto)
    git("-C", expected, "fetch", "-q", "--unshallow")
    assert shallow_lines(clone) == []
    assert out("-C", clone, "rev-parse", "--is-shallow-repository").strip() == "false"
    assert_same_clone(clone, expected)
    # the whole history of main is there now, exactly as in the source
    assert object_ids(clone, "HEAD") == object_ids(source_repo, "main")
    assert out("-C", clone, "rev-list", "--count", "HEAD") == out("-C", source_repo, "rev-list", "--count", "main")


def test_shallow_exclude(hist_repo, source_repo, reference_urls, proto, tmp_path):
    # deepen-not: everything on main that a merged feature branch does not already reach
    branch = next(name[len("refs/heads/"):] for name in refs(source_repo, "refs/heads/feature/"))
    clone = str(tmp_path / "clone")
    git("clone", "-q", f"--shallow-exclude={branch}", hist_repo.url, clone, proto=proto)
    expected = oracle(reference_urls["source"], tmp_path, proto, f"--shallow-exclude={branch}")
    assert shallow_lines(clone)
    assert_same_clone(clone, expected)


def test_shallow_since(hist_repo, source_repo, reference_urls, proto, tmp_path):
    # halfway between the 30th and 31st first-parent commits from the tip
    times = [int(t) for t in out("-C", source_repo, "log", "--first-parent", "--format=%ct", "-32", "main").split()]
    since = (times[29] + times[30]) // 2
    date = datetime.datetime.fromtimestamp(since, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S +0000")
    clone = str(tmp_path / "clone")
    git("clone", "-q", f"--shallow-since={date}", hist_repo.url, clone, proto=proto)
    expected = oracle(reference_urls["source"], tmp_path, proto, f"--shallow-since={date}")
    assert_same_clone(clone, expected)
    assert int(out("-C", clone, "rev-list", "--count", "--first-parent", "HEAD")) == 30
    oldest = min(int(t) for t in out("-C", clone, "log", "--format=%ct", "HEAD").split())
    assert oldest >= since


def missing_blobs(clone):
    """Blobs the partial clone knows of but does not have (promised by the server)."""
    text = out("-C", clone, "rev-list", "--objects", "--all", "--missing=print")
    return sorted(line[1:] for line in text.splitlines() if line.startswith("?"))


def packs(clone):
    return len(glob.glob(os.path.join(clone, ".git", "objects", "pack", "*.pack")))


def log_p(repo, rev_="HEAD", n=10):
    return out("-C", repo, "log", "-p", f"-{n}", "--no-decorate", "--format=%H %an %s", rev_)


@pytest.mark.parametrize("filter_spec", ["blob:none", "tree:0"])
def test_partial_clone_with_checkout_and_lazy_fetch(small_hist_repo, small_source, reference_urls, proto,
                                                    filter_spec, tmp_path):
    clone = str(tmp_path / "clone")
    git("clone", "-q", f"--filter={filter_spec}", small_hist_repo.url, clone, proto=proto)
    # the filter was honoured: part of the history stayed on the server
    total = len(all_objects(small_source))
    have = stored_objects(clone)
    assert have < total, f"the server ignored the filter: {have} of {total} objects sent"
    if filter_spec == "blob:none":
        # exactly the blobs of the checked-out tree came, every other one is promised
        expected = oracle(reference_urls["small"], tmp_path, proto, f"--filter={filter_spec}")
        assert missing_blobs(clone) == missing_blobs(expected) != []
    # the checkout fetched what it needed, lazily
    assert rev(clone, "HEAD") == rev(small_source, "main")
    assert out("-C", clone, "status", "--porcelain") == ""
    assert out("-C", clone, "ls-files", "-s") == out(
        "-C", small_source, "ls-tree", "-r", "--format=%(objectmode) %(objectname) 0\t%(path)", "main")
    # history with patches: more lazy fetches, the same output as in the source
    assert log_p(clone) == log_p(small_source, "main")
    assert stored_objects(clone) > have
    fsck(clone)
    assert refs(clone, "refs/tags") == refs(small_source, "refs/tags")


def test_partial_and_shallow(small_hist_repo, small_source, reference_urls, proto, tmp_path):
    clone = str(tmp_path / "clone")
    git("clone", "-q", "--filter=blob:none", "--depth", "1", small_hist_repo.url, clone, proto=proto)
    expected = oracle(reference_urls["small"], tmp_path, proto, "--filter=blob:none", "--depth", "1")
    assert out("-C", clone, "rev-list", "--count", "HEAD").strip() == "1"
    assert shallow_lines(clone) == shallow_lines(expected) == [rev(small_source, "main")]
    assert missing_blobs(clone) == missing_blobs(expected)
    assert packs(clone) >= 2, "no lazy fetch for the checkout: the server ignored the filter"
    assert out("-C", clone, "status", "--porcelain") == ""
    assert log_p(clone) == log_p(expected)
    fsck(clone)
    assert missing_blobs(clone) == missing_blobs(expected)
