"""Archives of a commit checked against `git archive`: the same members (names, order, types, modes,
times, symlink targets, bytes), the commit id where git puts it, and the very same bytes: the tar
uncompressed, the zip as it is (git told to stream blobs above the size ours streams)."""
import io
import os
import shutil
import subprocess
import tarfile
import time
import zipfile
import zlib

import pytest

from repos.store import RepoStore
from repos.store.archive import CHUNK, STREAM_ABOVE, archive_entries, tar_gz_stream, tar_stream, zip_stream
from repos.store.browse import NotFound
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, git_env, out

PREFIX = "proj-main/"


def git_archive(repo, fmt, rev, prefix=PREFIX, env=None):
    """git's own archive; streaming above STREAM_ABOVE as ours does (only the zip layout cares)."""
    return subprocess.run(["git", "-C", str(repo), "-c", f"core.bigFileThreshold={STREAM_ABOVE}", "archive",
                           f"--format={fmt}", f"--prefix={prefix}", rev],
                          capture_output=True, check=True, env=env or git_env()).stdout


def rev(repo, what):
    return bytes.fromhex(out("-C", repo, "rev-parse", f"{what}^{{commit}}").strip())


def tar_members(data):
    """[(name, type, mode, mtime, linkname, bytes)] in archive order, plus the pax global header."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        members = [(m.name, m.type, m.mode, m.mtime, m.linkname,
                    tar.extractfile(m).read() if m.isreg() else None) for m in tar.getmembers()]
        return members, tar.pax_headers


def zip_members(data):
    """[(name, external attributes, DOS time, extra fields, bytes)] in archive order, plus the comment."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        members = [(i.filename, i.external_attr, i.date_time, i.extra, i.create_system,
                    z.read(i) if not i.is_dir() else None) for i in z.infolist()]
        return members, z.comment


def compare_with_git(store, repo, what, env=None):
    commit = rev(repo, what)
    ours_gz = b"".join(tar_gz_stream(store, commit, PREFIX))
    ours_tar = zlib.decompress(ours_gz, 31)
    theirs_tar = git_archive(repo, "tar", what, env=env)
    assert tar_members(ours_tar) == tar_members(theirs_tar)
    assert ours_tar == theirs_tar
    assert b"".join(tar_stream(store, commit, PREFIX)) == theirs_tar

    ours_zip = b"".join(zip_stream(store, commit, PREFIX))
    theirs_zip = git_archive(repo, "zip", what, env=env)
    assert zip_members(ours_zip) == zip_members(theirs_zip)
    assert ours_zip == theirs_zip
    return ours_gz, ours_zip


@pytest.fixture(scope="module")
def history_store(history, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("archive-history")
    store = RepoStore.create(tmp / "repo.sqlite3")
    mirror(store, tmp, history)
    yield store
    store.close()


@pytest.mark.parametrize("what", ["main", "main~37", "v1.0", "light", "feature/topic-11"])
def test_history_commits_match_git_archive(history_store, history, what, tmp_path):
    gz, zipped = compare_with_git(history_store, history, what)
    # what the usual tools make of ours
    (tmp_path / "a.tar.gz").write_bytes(gz)
    (tmp_path / "a.zip").write_bytes(zipped)
    listing = subprocess.run(["tar", "tzf", tmp_path / "a.tar.gz"], capture_output=True, check=True, text=True)
    assert listing.stdout.splitlines()[0] == PREFIX
    if shutil.which("unzip"):
        subprocess.run(["unzip", "-tq", tmp_path / "a.zip"], capture_output=True, check=True)
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert tar.pax_headers == {"comment": rev(history, what).hex()}
        assert {m.mtime for m in tar.getmembers()} == {int(out("-C", history, "log", "-1", "--format=%ct", what))}
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        assert z.comment == rev(history, what).hex().encode()


def test_chunks_are_large_and_come_before_the_end(history_store, history):
    commit = rev(history, "main")
    for stream in (tar_gz_stream, zip_stream):
        chunks = list(stream(history_store, commit, PREFIX))
        assert len(chunks) > 2
        assert all(len(c) >= CHUNK for c in chunks[:-1])

    # lazy: the first chunk is out long before every blob has been read
    class Counting:
        def __init__(self, store):
            self.store, self.graph, self.reads = store, store.graph, 0

        def get(self, oid):
            self.reads += 1
            return self.store.get(oid)

    counting = Counting(history_store)
    stream = tar_gz_stream(counting, commit, PREFIX)
    next(stream)
    first = counting.reads
    for _ in stream:
        pass
    assert first < counting.reads / 4


def test_unknown_commit(history_store):
    with pytest.raises(NotFound):
        list(zip_stream(history_store, b"\x01" * 20, PREFIX))


@pytest.fixture(scope="module")
def odd_repo(tmp_path_factory):
    """A repository with what trees can hold beyond plain files: a symlink (short and long target), an
    executable, an empty file, non-ASCII names, a submodule, paths too long for ustar's name field
    (one split into prefix and name, one not splittable), a blob big enough to be streamed, and a
    directory holding nothing but an empty tree (git archive leaves it out)."""
    tmp = tmp_path_factory.mktemp("odd")
    work = tmp / "work"
    git("init", "-q", work)
    (work / "README").write_text("hello\n")
    (work / "run.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(work / "run.sh", 0o755)
    (work / "empty").write_bytes(b"")
    os.symlink("README", work / "link")
    os.symlink("t" * 120, work / "long-link")
    (work / "naïve café.txt").write_text("ü\n")
    (work / "日本").mkdir()
    (work / "日本" / "語.txt").write_text("にほんご\n")
    deep = work / "dir" / ("b" * 60)
    deep.mkdir(parents=True)
    (deep / ("c" * 60 + ".txt")).write_text("split into prefix and name\n")
    (work / ("a" * 150)).write_text("needs a pax path record\n")
    (work / "bin").mkdir()
    (work / "bin" / "zeros.bin").write_bytes(b"\0" * 100)
    (work / "bin" / "big.txt").write_bytes(b"".join(b"line %d of a big file\n" % i for i in range(200_000)))
    (work / "bin" / "random.bin").write_bytes(os.urandom(STREAM_ABOVE + 12345))
    git("-C", work, "add", "-A")
    git("-C", work, "update-index", "--add", "--cacheinfo", "160000,1234567890abcdef1234567890abcdef12345678,sub")
    git("-C", work, "commit", "-q", "-m", "odd things")
    # a directory whose only entry is the empty tree: git archive writes neither
    empty_tree = out("-C", work, "hash-object", "-t", "tree", "-w", "--stdin", input="").strip()
    holder = out("-C", work, "mktree", input=f"040000 tree {empty_tree}\tnothing\n").strip()
    listing = out("-C", work, "ls-tree", "HEAD").rstrip("\n")
    tree = out("-C", work, "mktree", input=listing + f"\n040000 tree {holder}\thollow\n").strip()
    commit = out("-C", work, "commit-tree", tree, "-p", "HEAD", "-m", "a hollow directory").strip()
    git("-C", work, "update-ref", "refs/heads/main", commit)
    bare = tmp / "odd.git"
    git("clone", "-q", "--bare", work, bare)
    store = RepoStore.create(tmp / "odd.sqlite3")
    mirror(store, tmp, bare)
    yield store, bare
    store.close()


def test_odd_entries_match_git_archive(odd_repo):
    store, repo = odd_repo
    for what in ("main", "main~1"):
        compare_with_git(store, repo, what)
    names = [e.path for e in archive_entries(store, rev(repo, "main"), PREFIX)]
    assert PREFIX.encode() + b"sub/" in names
    assert not [n for n in names if b"hollow" in n]

    tar = zlib.decompress(b"".join(tar_gz_stream(store, rev(repo, "main"), PREFIX)), 31)
    members = {m[0]: m for m in tar_members(tar)[0]}
    assert members[PREFIX + "link"][1:3] == (tarfile.SYMTYPE, 0o777)
    assert members[PREFIX + "link"][4] == "README"
    assert members[PREFIX + "long-link"][4] == "t" * 120
    assert members[PREFIX + "run.sh"][1:3] == (tarfile.REGTYPE, 0o775)
    assert members[PREFIX + "README"][1:3] == (tarfile.REGTYPE, 0o664)
    assert members[PREFIX + "empty"][5] == b""
    assert members[PREFIX + "sub"][1:3] == (tarfile.DIRTYPE, 0o775)
    assert PREFIX + "naïve café.txt" in members
    assert PREFIX + "a" * 150 in members

    zipped = zipfile.ZipFile(io.BytesIO(b"".join(zip_stream(store, rev(repo, "main"), PREFIX))))
    infos = {i.filename: i for i in zipped.infolist()}
    assert infos[PREFIX + "link"].external_attr >> 16 == 0o120777
    assert zipped.read(PREFIX + "link") == b"README"
    assert infos[PREFIX + "run.sh"].external_attr >> 16 == 0o100755
    assert infos[PREFIX + "README"].external_attr == 0          # MS-DOS attributes, as git writes them
    assert infos[PREFIX + "sub/"].external_attr == 16
    assert infos[PREFIX + "bin/random.bin"].flag_bits & 0x08    # streamed: a data descriptor
    assert infos[PREFIX + "naïve café.txt"].flag_bits & 0x800   # UTF-8 name


def test_prefixes_as_git_handles_them(odd_repo):
    store, repo = odd_repo
    for prefix in ("", "x-", "a/b/"):
        commit = rev(repo, "main~1")
        assert b"".join(tar_stream(store, commit, prefix)) == git_archive(repo, "tar", "main~1", prefix)
        assert b"".join(zip_stream(store, commit, prefix)) == git_archive(repo, "zip", "main~1", prefix)


def test_zip_dos_time_is_local_time(odd_repo, monkeypatch):
    """git writes the DOS date and time in the server's time zone; so do we."""
    store, repo = odd_repo
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        ours = b"".join(zip_stream(store, rev(repo, "main~1"), PREFIX))
        assert ours == git_archive(repo, "zip", "main~1", env=git_env({"TZ": "Asia/Kolkata"}))
    finally:
        monkeypatch.undo()
        time.tzset()
