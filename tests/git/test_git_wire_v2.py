"""Protocol v2 commands the git CLI rarely sends on its own, spoken raw and compared with what git's
own http-backend answers for the same repository: ls-refs arguments, object-info, and fetch
negotiation with and without wait-for-done."""
import urllib.parse

import pytest

from tests.support import wire
from tests.support.gitcli import out

DELIM = b"0001"
FLUSH = b"0000"


def v2(url, command, caps=(), args=()):
    body = wire.pkt(f"command={command}\n") + b"".join(wire.pkt(c + "\n") for c in ("object-format=sha1", *caps))
    body += DELIM + b"".join(wire.pkt(a + "\n") for a in args) + FLUSH
    parts = urllib.parse.urlsplit(url)
    base = f"{parts.scheme}://{parts.hostname}:{parts.port}"
    resp = wire.http_request(base, "POST", parts.path + "/git-upload-pack", body,
                             {"Content-Type": "application/x-git-upload-pack-request", "Git-Protocol": "version=2"})
    assert resp.status == 200, resp
    return resp.body


def lines(body, stop_at=b"packfile\n"):
    """The pkt-lines of a response up to the packfile section, as text; specials as '0000'/'0001'."""
    result, pos = [], 0
    while pos < len(body):
        size = int(body[pos:pos + 4], 16)
        if size < 4:
            result.append(body[pos:pos + 4].decode())
            pos += 4
            continue
        payload = body[pos + 4:pos + size]
        if payload == stop_at:
            break
        result.append(payload.decode().rstrip("\n"))
        pos += size
    return result


@pytest.fixture
def both(hist_repo, reference_urls):
    return {"forge": hist_repo.anon_url, "git": reference_urls["source"]}


@pytest.mark.parametrize("args", [
    ["ref-prefix refs/heads/feature/", "symrefs"],
    ["ref-prefix HEAD", "symrefs", "unborn"],
    ["ref-prefix refs/tags/", "peel"],
    [],
], ids=["prefix", "head-symref", "peeled-tags", "all"])
def test_ls_refs_like_git(both, args):
    assert sorted(lines(v2(both["forge"], "ls-refs", args=args))) == sorted(lines(v2(both["git"], "ls-refs", args=args)))


def test_object_info_like_git(both, source_repo):
    oids = out("-C", source_repo, "rev-list", "--objects", "-n", "3", "main").split()[::2][:5]
    args = ["size"] + [f"oid {o}" for o in oids]
    assert lines(v2(both["forge"], "object-info", args=args)) == lines(v2(both["git"], "object-info", args=args))


def test_fetch_negotiation_wait_for_done_and_ready(both, source_repo):
    want = out("-C", source_repo, "rev-parse", "main").strip()
    have = out("-C", source_repo, "rev-parse", "main~10").strip()
    unknown = "1" * 40
    base_args = [f"want {want}", f"have {unknown}", f"have {have}", "ofs-delta"]
    for extra in (["wait-for-done"], []):
        forge = lines(v2(both["forge"], "fetch", args=base_args + extra))
        git = lines(v2(both["git"], "fetch", args=base_args + extra))
        assert forge == git, (extra, forge, git)
    # With wait-for-done the server acknowledges but never declares itself ready.
    assert "ready" not in lines(v2(both["forge"], "fetch", args=base_args + ["wait-for-done"]))
