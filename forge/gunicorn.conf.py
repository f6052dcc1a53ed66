"""gunicorn settings for `make run`: gunicorn -c forge/gunicorn.conf.py forge.wsgi

gunicorn reads this file again on SIGHUP (a graceful reload: new workers start, the old ones finish
what they are serving, within graceful_timeout), so everything at module level must be repeatable.
"""
import os

from forge.observability import server as ops

_host = os.environ.get("FORGE_HOST") or "127.0.0.1"
_port = os.environ.get("FORGE_PORT") or "8000"
_bind_host = f"[{_host}]" if ":" in _host and not _host.startswith("[") else _host
URL = f"http://{_bind_host}:{_port}"

bind = f"{_bind_host}:{_port}"

# Threads, so that a long clone or push occupies one thread and not a whole worker; one worker process
# per core (see ops.default_workers for why not gunicorn's 2*cores+1).
worker_class = "gthread"
workers = int(os.environ.get("FORGE_WORKERS") or ops.default_workers())
threads = int(os.environ.get("FORGE_THREADS") or 8)

# With gthread the worker's heartbeat comes from its main thread, not from the request thread,
# so `timeout` only catches a hung worker: a clone that streams for minutes is not killed
# (tests/forge/test_ops_gunicorn.py clones for longer than a 2 s timeout).
timeout = int(os.environ.get("FORGE_GUNICORN_TIMEOUT") or 120)
# How long a reload (SIGHUP) or a stop (SIGTERM) lets old workers finish the requests they are serving,
# a clone or push in flight among them, before they are killed.
graceful_timeout = int(os.environ.get("FORGE_GRACEFUL_TIMEOUT") or 120)
keepalive = 5

# Several Forge instances may run on one machine (the tests start their own); gunicorn's control
# socket would be the same path in $HOME for all of them.
control_socket_disable = True

# No gunicorn access log: Django writes one JSON line per request (forge.observability.middleware) with
# its request id and without the query string, where gunicorn's line would repeat it and print query
# strings, which may carry tokens. gunicorn's own messages (boot, worker exits) go to stderr.
accesslog = None
errorlog = "-"

# prometheus-client's multiprocess mode: every worker writes its samples under this directory, and
# /-/metrics adds up all of them. Made here, before any worker is forked, once per server start: a
# reload (SIGHUP) reads this file again but finds it set, so its new workers add to the same totals.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = ops.new_metrics_dir()


def on_starting(server):
    ops.prepare_metrics_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_exit(server):
    ops.remove_metrics_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def child_exit(server, worker):
    ops.worker_exited(worker.pid)


def when_ready(server):
    print(f"Forge is listening on {URL}", flush=True)


def post_worker_init(worker):
    # The sign-in hint needs the database: asked by the first worker (age 1, once per server start)
    # rather than by the master, which would otherwise load Django and hold a connection across fork.
    if worker.age != 1:
        return
    try:
        hint = ops.signin_hint(URL)
    except Exception as error:  # noqa: BLE001 -- a courtesy; never keep a worker from serving over it
        hint = f"Sign in at {URL}/login (could not count accounts: {type(error).__name__})"
    print(hint, flush=True)
