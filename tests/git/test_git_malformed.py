"""Broken input to git-receive-pack, sent as raw HTTP with a valid token, and a push over the size limit.

Each case was first sent to git's own http-backend (FORGE_TEST_AGAINST_GIT=1) to learn what a correct
server does: it answers with an HTTP error or a report-status with `unpack <error>` / `ng <ref> <reason>`,
never a 5xx, and changes nothing. Forge must give an equivalent answer; the wording may differ."""
import os
import re

import pytest

from tests.support import wire
from tests.support.gitcli import commit_file, git, ls_remote, rev

NEW_REF = "refs/heads/incoming"


def _objects(parent):
    """A blob, a tree holding it and a commit on top of parent: (objects, commit id)."""
    blob = b"hello from a hand-made pack\n"
    blob_id = wire.object_id("blob", blob)
    tree = wire.tree_body([("100644", "hello.txt", blob_id)])
    tree_id = wire.object_id("tree", tree)
    commit = wire.commit_body(tree_id, [parent])
    return [("blob", blob), ("tree", tree), ("commit", commit)], wire.object_id("commit", commit)


def case_good(main):
    objects, commit = _objects(main)
    return [(wire.ZERO, commit, NEW_REF)], wire.pack(objects)


def case_truncated_pack(main):
    objects, commit = _objects(main)
    data = wire.pack(objects)
    return [(wire.ZERO, commit, NEW_REF)], data[:len(data) // 2]


def case_bad_checksum(main):
    objects, commit = _objects(main)
    data = wire.pack(objects)
    return [(wire.ZERO, commit, NEW_REF)], data[:-20] + bytes(b ^ 0xFF for b in data[-20:])


def case_commit_with_bad_tree_line(main):
    objects, _ = _objects(main)
    commit = wire.commit_body(None, [main], tree_line="tree " + "z" * 40)
    return [(wire.ZERO, wire.object_id("commit", commit), NEW_REF)], wire.pack(objects[:2] + [("commit", commit)])


def case_tree_with_invalid_mode(main):
    blob = b"mode test\n"
    tree = wire.tree_body([("10064z", "bad-mode.txt", wire.object_id("blob", blob))])
    commit = wire.commit_body(wire.object_id("tree", tree), [main])
    objects = [("blob", blob), ("tree", tree), ("commit", commit)]
    return [(wire.ZERO, wire.object_id("commit", commit), NEW_REF)], wire.pack(objects)


def case_missing_object(main):
    """The command names a commit the pack does not contain (and the server does not have)."""
    objects, commit = _objects(main)
    return [(wire.ZERO, commit, NEW_REF)], wire.pack(objects[:2])


def case_delta_on_missing_base(main):
    """A thin pack whose REF_DELTA base is neither in the pack nor on the server."""
    objects, _ = _objects(main)
    blob = b"the delta's result\n"
    base = "1234567890abcdef1234567890abcdef12345678"
    tree = wire.tree_body([("100644", "delta.txt", wire.object_id("blob", blob))])
    commit = wire.commit_body(wire.object_id("tree", tree), [main])
    entries = [wire.ref_delta_entry(base, wire.insert_delta(10, blob)), ("tree", tree), ("commit", commit)]
    return [(wire.ZERO, wire.object_id("commit", commit), NEW_REF)], wire.pack(entries)


def case_delta_on_present_base(main):
    """Control for the above: the same delta against a blob the server has is fine."""
    base_blob = b"hello from a hand-made pack\n"
    blob = b"the delta's result\n"
    tree = wire.tree_body([("100644", "delta.txt", wire.object_id("blob", blob))])
    commit = wire.commit_body(wire.object_id("tree", tree), [main])
    entries = [wire.ref_delta_entry(wire.object_id("blob", base_blob), wire.insert_delta(len(base_blob), blob)),
               ("tree", tree), ("commit", commit)]
    return [(wire.ZERO, wire.object_id("commit", commit), "refs/heads/delta")], wire.pack(entries)


def case_dotdot_ref(main):
    return [(wire.ZERO, main, "refs/heads/../x")], wire.empty_pack()


CASES = {
    "truncated-pack": case_truncated_pack,
    "bad-checksum": case_bad_checksum,
    "commit-bad-tree-line": case_commit_with_bad_tree_line,
    "tree-invalid-mode": case_tree_with_invalid_mode,
    "missing-object": case_missing_object,
    "dotdot-ref": case_dotdot_ref,
    "delta-on-missing-base": case_delta_on_missing_base,
}


def assert_refused(resp, ref):
    """An HTTP client error, or a report-status refusing the push (`unpack <error>` or `ng <ref>`), or ERR."""
    assert resp.status < 500, resp
    if resp.status != 200:
        assert 400 <= resp.status < 500, resp
        return
    report = wire.parse_report(resp.body)
    assert report is not None, f"200 without a report: {resp}"
    if report["error"] is None:
        assert report["unpack"] != "ok" or report["refs"].get(ref, "").startswith("ng "), report
        assert report["refs"].get(ref, "ng").startswith("ng"), report


def _send(repo, body):
    return wire.post_receive_pack(repo.server.url, repo.owner, repo.name, body, token=repo.token)


@pytest.fixture
def target(new_repo, small_source):
    repo = new_repo(seed=small_source)
    return repo, rev(small_source, "main")


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_receive_pack_request_is_refused(target, case):
    repo, main = target
    before = repo.snapshot()
    commands, pack_data = CASES[case](main)
    resp = _send(repo, wire.receive_pack_request(commands, pack_data))
    assert_refused(resp, commands[0][2])
    assert repo.snapshot() == before


def test_bad_pkt_line_length_is_refused(target):
    repo, main = target
    before = repo.snapshot()
    resp = _send(repo, b"zzzz" + b"0" * 40 + b" " + main.encode() + b" refs/heads/x\0report-status\n0000")
    # git http-backend answers 200 with an empty body here (receive-pack dies before any report)
    assert resp.status < 500, resp
    assert not wire.push_succeeded(resp), resp
    assert repo.snapshot() == before


def test_the_hand_made_packs_themselves_are_good(target):
    """Control: the same constructions without the defects are accepted, so the refusals above are about
    the defects; the thin pack's base is the blob the first push brings."""
    repo, main = target
    for case in (case_good, case_delta_on_present_base):
        commands, pack_data = case(main)
        resp = _send(repo, wire.receive_pack_request(commands, pack_data))
        assert wire.push_succeeded(resp), resp
        assert repo.ls_remote()[commands[0][2]] == commands[0][1]


LIMIT = 200_000


def test_push_over_size_limit_is_refused_with_a_message(forge_server_factory, tmp_path):
    """A second server with FORGE_MAX_PUSH_BYTES=200000 (git http-backend: receive.maxInputSize): a 1 MB push
    fails, the client shows the server's reason, nothing changes; a push under the limit still works."""
    server = forge_server_factory({"FORGE_MAX_PUSH_BYTES": str(LIMIT)})
    token = server.token("carol")
    server.createrepo("carol/limited")
    url = server.repo_url("carol", "limited", token)
    work = str(tmp_path / "work")
    git("init", "-q", "-b", "main", work)
    small_tip = commit_file(work, "small.txt", "small\n")
    git("-C", work, "push", "-q", url, "main")
    counts = server.store_counts("carol", "limited")

    commit_file(work, "big.bin", os.urandom(5 * LIMIT))
    proc = git("-C", work, "push", url, "main", check=False)
    assert proc.returncode != 0, proc.stderr
    from_server = [line for line in proc.stderr.splitlines() if line.startswith("remote:") or "remote rejected" in line]
    assert any(re.search(r"limit|maximum|too (large|big)|exceed", line, re.I) for line in from_server), proc.stderr
    assert ls_remote(url)["refs/heads/main"] == small_tip
    assert server.store_counts("carol", "limited") == counts

    git("-C", work, "reset", "-q", "--hard", small_tip)
    tip = commit_file(work, "second.txt", "still small\n")
    git("-C", work, "push", "-q", url, "main")
    assert ls_remote(url)["refs/heads/main"] == tip
