"""The git command-line client as the benchmark runs it: isolated from the user's configuration,
never prompting, and with credentials kept out of error messages."""
import os
import re
import subprocess
import time
from pathlib import Path

from bench.common import BenchError


class Git:
    """The git CLI with an isolated HOME and no prompts."""

    def __init__(self, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        config = home / ".gitconfig"
        config.write_text(
            "[user]\n\tname = Bench\n\temail = bench@example.org\n"
            "[init]\n\tdefaultBranch = main\n"
            "[gc]\n\tauto = 0\n"
            "[maintenance]\n\tauto = false\n"
            "[advice]\n\tdetachedHead = false\n"
            "[credential]\n\thelper =\n"
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "FORGE_"))}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_TERMINAL_PROMPT="0",
                        GIT_CONFIG_NOSYSTEM="1", LC_ALL="C", GIT_ASKPASS="/bin/false", SSH_ASKPASS="/bin/false")

    def run(self, *args, cwd=None, check=True, input=None) -> subprocess.CompletedProcess:
        proc = subprocess.run(["git", *map(str, args)], cwd=cwd, env=self.env, input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and proc.returncode != 0:
            raise BenchError(redact(f"git {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                                    + proc.stderr.decode(errors="replace")[-3000:]))
        return proc

    def out(self, *args, **kw) -> str:
        return self.run(*args, **kw).stdout.decode().strip()

    def timed(self, *args, cwd=None) -> float:
        start = time.perf_counter()
        self.run(*args, cwd=cwd)
        return time.perf_counter() - start


def redact(text: str) -> str:
    """Hides the credentials of http://USER:TOKEN@host URLs."""
    return re.sub(r"(https?://)[^/@\s]+@", r"\1***@", text)
