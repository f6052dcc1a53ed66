"""What the browsing benchmark asks for: the pages, picked deterministically from the test
repository and addressed with each side's URLs, with what a correct answer must contain.

Picks (the same for both sides):
- subdirectory: the directory at main with the most `.py` files directly in it (ties: the shorter,
  then the smaller path);
- large source file: the largest `.py` file at main (ties: the smaller path); its blob and blame;
- commit: the newest non-merge commit at or below main~50 that changes a `.py` file
  (`git rev-list -1 --no-merges main~50 -- '*.py'`);
- deep log page: page 100, or the last page when main has fewer than 100 pages of 30 commits.
"""
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.browse_cgit import LOG_PAGE
from bench.gitcli import Git

DEEP_PAGE = 100


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    cgit: str                 # path and query on cgit
    forge: str                # path and query on Forge
    expect: tuple = ()        # groups of strings: a correct page holds at least one string of every group


@dataclass
class Selection:
    branch: str
    head: str
    reachable: int            # commits reachable from the branch (what the log pages walk)
    subdir: str
    subdir_entries: int
    file: str
    file_bytes: int
    file_lines: int
    identifier: str           # the file's longest identifier: survives syntax highlighting intact
    file_last_commit: str
    commit: str
    commit_paths: list = field(default_factory=list)
    deep_page: int = DEEP_PAGE

    def describe(self) -> str:
        return (f"subdirectory {self.subdir}/ ({self.subdir_entries} entries); file {self.file} "
                f"({self.file_bytes:,} bytes, {self.file_lines:,} lines); commit {self.commit[:10]} "
                f"({len(self.commit_paths)} file{'s' if len(self.commit_paths) != 1 else ''} changed); log: {self.reachable} commits reachable from "
                f"{self.branch}, {LOG_PAGE} per page, deep page {self.deep_page}")


def select(git: Git, repo: Path, branch="main") -> Selection:
    run = lambda *args: git.out("--git-dir", repo, *args)  # noqa: E731
    head = run("rev-parse", f"refs/heads/{branch}")
    files = []  # (size, path)
    for line in run("ls-tree", "-r", "-l", "-z", head).split("\0"):
        if not line:
            continue
        meta, path = line.split("\t", 1)
        mode, kind, _oid, size = meta.split()
        if kind == "blob" and mode in ("100644", "100755"):
            files.append((int(size), path))
    python = [(size, path) for size, path in files if path.endswith(".py")]
    per_dir = Counter(path.rsplit("/", 1)[0] for _, path in python if "/" in path)
    subdir = min(per_dir, key=lambda d: (-per_dir[d], len(d), d))
    file_bytes, file = min(python, key=lambda sp: (-sp[0], sp[1]))
    text = git.run("--git-dir", repo, "cat-file", "blob", f"{head}:{file}").stdout.decode("utf-8", "replace")
    identifiers = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]{11,}", text))
    identifier = min(identifiers, key=lambda w: (-len(w), w))
    commit = run("rev-list", "-1", "--no-merges", f"{branch}~50", "--", "*.py")
    reachable = int(run("rev-list", "--count", head))
    return Selection(
        branch=branch, head=head, reachable=reachable,
        subdir=subdir, subdir_entries=len(run("ls-tree", f"{head}:{subdir}").splitlines()),
        file=file, file_bytes=file_bytes, file_lines=text.count("\n"), identifier=identifier,
        file_last_commit=run("rev-list", "-1", head, "--", file),
        commit=commit, commit_paths=run("diff-tree", "--no-commit-id", "--name-only", "-r", commit).splitlines(),
        deep_page=min(DEEP_PAGE, max(1, math.ceil(reachable / LOG_PAGE))),
    )


def log_window(git: Git, repo: Path, sel: Selection, page: int) -> tuple:
    """Abbreviated ids of the commits git log shows around `page` (a page before to a page after),
    so that a side ordering equal-time commits a little differently still passes."""
    first = max(0, (page - 2) * LOG_PAGE)
    ids = git.out("--git-dir", repo, "rev-list", f"--skip={first}", f"--max-count={3 * LOG_PAGE}", sel.head)
    return tuple(oid[:7] for oid in ids.split())


def pages(git: Git, repo: Path, sel: Selection, cgit_name: str, forge_repo: str) -> list:
    """The eight pages, with cgit's and Forge's URLs for each."""
    c, f, b = f"/{cgit_name}", f"/{forge_repo}", sel.branch
    top = sorted(git.out("--git-dir", repo, "ls-tree", "--name-only", sel.head).splitlines())
    inside = sorted(git.out("--git-dir", repo, "ls-tree", "--name-only", f"{sel.head}:{sel.subdir}").splitlines())
    deep = sel.deep_page
    return [
        Page("home", "home", f"{c}/", f"{f}", ((sel.head[:7],),)),
        Page("tree", "tree /", f"{c}/tree/?h={b}", f"{f}/tree/{b}", ((top[0],), (top[-1],))),
        Page("subtree", f"tree {sel.subdir}/", f"{c}/tree/{sel.subdir}?h={b}", f"{f}/tree/{b}/{sel.subdir}",
             ((inside[0],), (inside[-1],))),
        Page("blob", f"blob {sel.file.rsplit('/', 1)[-1]}", f"{c}/tree/{sel.file}?h={b}", f"{f}/blob/{b}/{sel.file}",
             ((sel.identifier,),)),
        Page("blame", f"blame {sel.file.rsplit('/', 1)[-1]}", f"{c}/blame/{sel.file}?h={b}",
             f"{f}/blame/{b}/{sel.file}", ((sel.identifier,), (sel.file_last_commit[:7],))),
        Page("log1", "log page 1", f"{c}/log/?h={b}", f"{f}/commits/{b}", ((sel.head[:7],),)),
        Page("logN", f"log page {deep}", f"{c}/log/?h={b}&ofs={(deep - 1) * LOG_PAGE}",
             f"{f}/commits/{b}?page={deep}", (log_window(git, repo, sel, deep),)),
        Page("commit", "commit", f"{c}/commit/?id={sel.commit}", f"{f}/commit/{sel.commit}",
             ((sel.commit[:7],), (sel.commit_paths[0],))),
    ]


def missing(page: Page, html: str) -> list:
    """The groups of expected strings of which the page holds none."""
    return [group for group in page.expect if not any(s in html for s in group)]
