"""Running the real git CLI in tests, isolated from the machine's and the user's configuration.

`git(...)` runs git with its own HOME (a .gitconfig with a test identity, init.defaultBranch=main, no
credential helpers, no auto-gc), GIT_TERMINAL_PROMPT=0 and GIT_CONFIG_NOSYSTEM=1, LC_ALL=C, and returns the
CompletedProcess with text output. The helpers below read the state tests compare: object sets, refs,
peeled tags, fsck.
"""
import atexit
import os
import shutil
import subprocess
import tempfile

GIT_HOME = tempfile.mkdtemp(prefix="forge-test-git-home-")
atexit.register(shutil.rmtree, GIT_HOME, True)

with open(os.path.join(GIT_HOME, ".gitconfig"), "w") as f:
    f.write("""\
[user]
\tname = Forge Tester
\temail = tester@example.org
[init]
\tdefaultBranch = main
[gc]
\tauto = 0
[maintenance]
\tauto = false
[advice]
\tdetachedHead = false
\tpushUpdateRejected = false
[credential]
\thelper =
[http]
\tlowSpeedLimit = 1000
\tlowSpeedTime = 60
""")

_DROP = ("GIT_", "SSH_ASKPASS", "XDG_CONFIG_HOME", "EMAIL")


def git_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP)}
    env.update(HOME=GIT_HOME, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", LC_ALL="C", LANG="C")
    if extra:
        env.update(extra)
    return env


class GitError(AssertionError):
    def __init__(self, proc):
        self.proc = proc
        super().__init__(
            f"git failed with exit code {proc.returncode}: {' '.join(map(str, proc.args))}\n"
            f"--- stdout ---\n{_tail(proc.stdout)}\n--- stderr ---\n{_tail(proc.stderr)}")


def _tail(text, limit=6000):
    text = text or ""
    return text if len(text) <= limit else "...\n" + text[-limit:]


def git(*args, cwd=None, env=None, check=True, input=None, proto=None, timeout=300):
    """Runs `git ARGS`; proto="0"/"2" adds `-c protocol.version=N`. Raises GitError when check and it fails."""
    cmd = ["git"]
    if proto is not None:
        cmd += ["-c", f"protocol.version={proto}"]
    cmd += [str(a) for a in args]
    proc = subprocess.run(cmd, cwd=cwd, env=git_env(env), input=input, capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=timeout)
    if check and proc.returncode != 0:
        raise GitError(proc)
    return proc


def popen_git(*args, cwd=None, env=None, proto=None):
    """Starts git in its own process group (so the group can be killed), stdout/stderr captured as text."""
    cmd = ["git"] + (["-c", f"protocol.version={proto}"] if proto is not None else []) + [str(a) for a in args]
    return subprocess.Popen(cmd, cwd=cwd, env=git_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace", start_new_session=True)


def out(*args, **kw):
    return git(*args, **kw).stdout


# --- state of a repository (bare or not) ------------------------------------------------------------------

def all_objects(repo):
    """`git rev-list --all --objects`, sorted: every reachable object id with its path."""
    return sorted(out("-C", repo, "rev-list", "--all", "--objects").splitlines())


def object_ids(repo, *revs):
    """Object ids reachable from revs (default: --all), sorted, without paths."""
    lines = out("-C", repo, "rev-list", "--objects", *(revs or ("--all",))).splitlines()
    return sorted(line.split(" ", 1)[0] for line in lines)


def refs(repo, *patterns):
    """{refname: object id} from `git for-each-ref`."""
    text = out("-C", repo, "for-each-ref", "--format=%(refname) %(objectname)", *patterns)
    return dict(line.split(" ", 1) for line in text.splitlines())


def peeled_tags(repo):
    """`git show-ref --tags -d` lines (tags with their peeled values), sorted."""
    proc = git("-C", repo, "show-ref", "--tags", "-d", check=False)
    return sorted(proc.stdout.splitlines())


def clone_refs_as_remote(clone, remote="origin"):
    """Refs of a normal clone in the server's names: refs/remotes/origin/X -> refs/heads/X, tags as they are."""
    result = {}
    for name, oid in refs(clone, f"refs/remotes/{remote}", "refs/tags").items():
        if name == f"refs/remotes/{remote}/HEAD":
            continue
        if name.startswith(f"refs/remotes/{remote}/"):
            name = "refs/heads/" + name[len(f"refs/remotes/{remote}/"):]
        result[name] = oid
    return result


def fsck(repo, strict=True):
    args = ["-C", repo, "fsck", "--no-progress"] + (["--strict"] if strict else [])
    return git(*args)


def ls_remote(url, *args, env=None, proto=None):
    """{refname: oid} as the server advertises it (HEAD and peeled ^{} entries included)."""
    text = out("ls-remote", *args, url, env=env, proto=proto)
    result = {}
    for line in text.splitlines():
        oid, name = line.split("\t", 1)
        result[name] = oid
    return result


def stored_objects(repo):
    """Loose plus packed objects in a local repository (`git count-objects -v`)."""
    counts = dict(line.split(": ", 1) for line in out("-C", repo, "count-objects", "-v").splitlines())
    return int(counts["count"]) + int(counts["in-pack"])


def rev(repo, what):
    return out("-C", repo, "rev-parse", what).strip()


def commit_file(work, path, content, message=None):
    """Writes a file in a work tree, commits it, returns the new commit id."""
    full = os.path.join(work, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(full, mode) as f:
        f.write(content)
    git("-C", work, "add", path)
    git("-C", work, "commit", "-q", "-m", message or f"change {path}")
    return rev(work, "HEAD")


def parse_porcelain(stdout):
    """`git push --porcelain` output -> {remote ref: (flag, summary)}; flag " " "+" "-" "*" "=" is success."""
    result = {}
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and len(parts[0]) == 1:
            src, _, dst = parts[1].partition(":")
            result[dst] = (parts[0], parts[2])
    return result


PUSH_OK_FLAGS = set(" +-*=")
