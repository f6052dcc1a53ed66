"""Helpers for forge/gunicorn.conf.py. Imported by gunicorn's master, so nothing here imports Django at
module level: the master stays free of application code (a SIGHUP then reloads all of it) and of
database connections that forked workers would share."""
import os
import shutil
import tempfile
from pathlib import Path


def cores() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers() -> int:
    # One process per core (at least two, so a crash or a reload never leaves nobody answering): the GIL
    # lets one process use about one core for Python work (pages, diffs, packs), and the gthread threads
    # of each worker absorb the waiting (slow clients, long clones and pushes). 2*cores+1, gunicorn's rule
    # for sync workers, would only add memory and SQLite writers contending for the same lock.
    return max(2, cores())


METRICS_DIR_PREFIX = "forge-metrics-"


def new_metrics_dir() -> str:
    """A fresh directory for the workers' Prometheus samples (prometheus-client's multiprocess mode).
    Outside FORGE_DATA_DIR: the samples are not state, and a backup has no business copying them."""
    return tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)


def prepare_metrics_dir(path: str) -> None:
    """Empties the directory at server start: samples of an earlier run would be added to this one's
    (matters when PROMETHEUS_MULTIPROC_DIR was given from outside and so is reused)."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))


def remove_metrics_dir(path: str) -> None:
    """At server exit, removes the directory if new_metrics_dir made it (never one given from outside)."""
    if Path(path).parent == Path(tempfile.gettempdir()) and Path(path).name.startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(path, ignore_errors=True)


def worker_exited(pid: int) -> None:
    # Imported here: prometheus-client picks its multiprocess mode at import, after PROMETHEUS_MULTIPROC_DIR
    # is set (the workers are forked from the master and would inherit an earlier choice).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def signin_hint(url: str) -> str:
    """How to get in, from inside a worker (Django is loaded there): sign up first, or sign in."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connections

    try:
        has_accounts = get_user_model().objects.exists()
    finally:
        # This is the worker's main thread; requests run on its pool threads with their own connections.
        connections.close_all()
    if not has_accounts:
        # Sign-up takes the very first account even when FORGE_SIGNUP=closed (accounts.services.signup_open).
        return (f"No accounts yet: create the first account (it becomes the admin) at {url}/signup\n"
                "  or from the command line: .venv/bin/python manage.py adduser NAME --password PASSWORD --admin")
    if settings.FORGE_SIGNUP == "closed":
        return (f"Sign in at {url}/login (sign-up is closed: new accounts come from "
                "`.venv/bin/python manage.py adduser NAME`)")
    return f"Sign in at {url}/login"
