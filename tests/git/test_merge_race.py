"""A pull request merge racing a push to its target, on a live Forge: the merge runs in its own
process (as another worker would) while the real git CLI pushes to the same branch. Whatever the
order, one of them may lose, but a commit that was reported accepted is never lost, the loser is
told clearly, and the repository stays consistent (`git fsck` on a fresh clone)."""
import random
import subprocess
import time

import pytest

from tests.support import servers
from tests.support.gitcli import git, git_env, out

ROUNDS = 6

MERGE_SCRIPT = """
from accounts.actor import user_actor
from accounts.selectors import get_user
from issues.models import PullRequest
from issues.pulls import MergeFailed, merge_pull_request
pull = PullRequest.objects.select_related("issue__repository__owner").get(issue__number={number})
try:
    merged = merge_pull_request(user_actor(get_user("alice")), pull, "merge")
    print("MERGED", merged.new_tip.hex())
except MergeFailed as error:
    print("REFUSED", error)
"""

OPEN_SCRIPT = """
from accounts.actor import user_actor
from accounts.selectors import get_user
from issues.pulls import open_pull_request
from repos.selectors import get_repository
issue = open_pull_request(user_actor(get_user("alice")), get_repository("alice", "race"), "main", "{head}", "Race {head}")
print(issue.number)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    forge = servers.start_server(tmp_path_factory.mktemp("merge-race"))
    yield forge
    forge.stop()


def _commit(work, path, text, message):
    (work / path).write_text(text)
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", message)
    return out("-C", work, "rev-parse", "HEAD").strip()


@pytest.mark.forge_only("pull requests")
def test_a_merge_racing_a_push_never_loses_a_commit(server, tmp_path):
    token = server.token("alice")
    url = server.repo_url("alice", "race", token)
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    _commit(work, "README.md", "# race\n", "Start")
    git("-C", work, "push", "-q", url, "main")
    rng = random.Random(7)
    outcomes = []
    for round_ in range(ROUNDS):
        git("-C", work, "fetch", "-q", url, "main")
        git("-C", work, "checkout", "-q", "-B", f"topic-{round_}", "FETCH_HEAD")
        _commit(work, f"topic-{round_}.txt", f"topic {round_}\n", f"Topic {round_}")
        git("-C", work, "push", "-q", url, f"topic-{round_}")
        number = int(server.manage("shell", "-c", OPEN_SCRIPT.format(head=f"topic-{round_}")).split()[-1])
        git("-C", work, "checkout", "-q", "-B", "main", "FETCH_HEAD")
        pushed = _commit(work, f"push-{round_}.txt", f"push {round_}\n", f"Push {round_}")
        merge = subprocess.Popen([server.python, "manage.py", "shell", "-c", MERGE_SCRIPT.format(number=number)],
                                 cwd=server.root, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        # The merge process spends about a second starting Django; push around the time it merges.
        time.sleep(rng.uniform(0.0, 2.4))
        push = subprocess.run(["git", "-C", str(work), "push", url, "main"], env=git_env(), capture_output=True,
                              text=True, timeout=120)
        merge_out, merge_err = merge.communicate(timeout=120)
        assert merge.returncode == 0, merge_err
        result = [line for line in merge_out.splitlines() if line.startswith(("MERGED", "REFUSED"))][-1]
        merged = result.startswith("MERGED")
        if merged:
            merge_commit = result.split()[1]
        else:
            assert "moved while merging" in result, merge_out
        if push.returncode != 0:
            assert "fetch first" in push.stderr or "non-fast-forward" in push.stderr, push.stderr
        assert merged or push.returncode == 0, "neither won"
        tip = git("ls-remote", url, "refs/heads/main").stdout.split()[0]
        clone = tmp_path / f"check-{round_}"
        git("clone", "-q", url, clone)
        history = set(out("-C", clone, "rev-list", tip).split())
        if push.returncode == 0:
            assert pushed in history, "an accepted push was lost"
        if merged:
            assert merge_commit in history, "a reported merge was lost"
        assert git("-C", clone, "fsck", "--strict", "--no-dangling").returncode == 0
        outcomes.append((merged, push.returncode == 0))
    # Over the rounds both orders happen; print them for whoever reads the log.
    print("merge won / push won per round:", outcomes)
