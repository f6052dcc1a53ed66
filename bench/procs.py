"""Memory of the server processes: the process tree from /proc, and the summed RSS of a set of
processes sampled in a background thread while an operation runs (Linux only)."""
import os
import subprocess
import threading


def _process_table() -> dict[int, int]:
    """pid -> parent pid, for every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name in parentheses may itself hold spaces or ')', so split after the last ')'
        fields = stat[stat.rindex(b")") + 2:].split()
        table[int(entry.name)] = int(fields[1])
    return table


def _children_fast(pid: int) -> list[int]:
    """Children from /proc/PID/task/*/children (cheap enough to call every 20 ms)."""
    kids = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += map(int, f.read().split())
        except OSError:
            pass
    return kids


# /proc/PID/task/TID/children needs a kernel built with CONFIG_PROC_CHILDREN; without it the whole
# process table has to be scanned instead
_HAVE_CHILDREN_FILES = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def children(pid: int) -> list[int]:
    if _HAVE_CHILDREN_FILES:
        return _children_fast(pid)
    return [p for p, parent in _process_table().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    table = None if _HAVE_CHILDREN_FILES else _process_table()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = _children_fast(parent) if table is None else [p for p, pp in table.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def rss_bytes(pids) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            pass
    return total


class RssSampler(threading.Thread):
    """Samples the summed RSS of `pids_fn()` every `interval` seconds until stopped."""

    def __init__(self, pids_fn, interval=0.02):
        super().__init__(daemon=True)
        self.pids_fn, self.interval = pids_fn, interval
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.peak = max(self.peak, rss_bytes(self.pids_fn()))
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, rss_bytes(self.pids_fn()))
        return self.peak


def stop_server_process(proc):
    """End a server process that runs until its stdin closes; kill it if it lingers."""
    if proc.poll() is None:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
