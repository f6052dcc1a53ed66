"""gunicorn settings for `make run`: gunicorn -c forge/gunicorn.conf.py forge.wsgi"""
import os

_host = os.environ.get("FORGE_HOST") or "127.0.0.1"
_port = os.environ.get("FORGE_PORT") or "8000"
_bind_host = f"[{_host}]" if ":" in _host and not _host.startswith("[") else _host

bind = f"{_bind_host}:{_port}"

# Threads, so that a long clone or push occupies one thread and not a whole worker.
worker_class = "gthread"
workers = int(os.environ.get("FORGE_WORKERS") or 2)
threads = int(os.environ.get("FORGE_THREADS") or 8)

# With gthread the worker's heartbeat comes from its main thread, not from the request thread,
# so `timeout` only catches a hung worker: a clone that streams for minutes is not killed.
timeout = 120
graceful_timeout = 60
keepalive = 5

# Several Forge instances may run on one machine (the tests start their own); gunicorn's control
# socket would be the same path in $HOME for all of them.
control_socket_disable = True

accesslog = "-"
errorlog = "-"


def when_ready(server):
    print(f"Forge is listening on http://{_bind_host}:{_port}", flush=True)
