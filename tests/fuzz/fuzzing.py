"""What every fuzz target shares: how many cases it runs, with which randomness, and a guard against hangs.

`make test` runs a short, derandomized pass (CI sees the same cases on every run); `make fuzz` sets
FORGE_FUZZ_EXAMPLES=10000 and runs random cases (FORGE_FUZZ_DERANDOMIZE=1 makes a long run repeatable).
The example database is off and hypothesis' own directory is a temporary one: nothing is written
under the working tree (.hypothesis).
"""
import collections
import contextlib
import os
import signal
import tempfile

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis also keeps a cache of constants it found in the code; not in the working tree either.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "forge-fuzz-hypothesis"))

_REQUESTED = os.environ.get("FORGE_FUZZ_EXAMPLES")
# The short pass of make test: the whole tests/fuzz directory stays well under a minute.
DEFAULT_EXAMPLES = 100
EXAMPLES = int(_REQUESTED) if _REQUESTED else DEFAULT_EXAMPLES
DERANDOMIZE = os.environ.get("FORGE_FUZZ_DERANDOMIZE", "0" if _REQUESTED else "1") == "1"
# Seconds one case may take before it counts as a hang (generous: the suite shares 2 cores).
HANG_SECONDS = 20

# Cases run per target in this process (printed at the end by conftest.py).
CASES = collections.Counter()


def fuzz_settings(short_share=1.0):
    """hypothesis settings for one fuzz test. `short_share` scales the short pass only (slow targets
    that go through the whole Django stack run fewer cases in make test; make fuzz runs them all)."""
    examples = EXAMPLES if _REQUESTED else max(20, int(EXAMPLES * short_share))
    return settings(
        max_examples=examples,
        derandomize=DERANDOMIZE,
        database=None,
        deadline=None,  # time is the hang guard's business: deadlines flake on a loaded machine
        # Fixtures are shared by every case on purpose (a repository, a token); the strategies are big.
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def count(target):
    CASES[target] += 1


class Hang(AssertionError):
    pass


@contextlib.contextmanager
def no_hang(what="a case", seconds=HANG_SECONDS):
    """Fail (instead of waiting for ever) when the body runs longer than `seconds`."""
    def expired(signum, frame):
        raise Hang(f"{what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def close_response(response):
    """Close a test client's response (running its after-response housekeeping) the way Django's test
    client closes a streamed one: without `request_finished` closing the database connection, which on
    PostgreSQL would really close the connection that holds the test's transaction."""
    from django.core.signals import request_finished
    from django.db import close_old_connections

    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
