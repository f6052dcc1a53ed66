"""A small smart-HTTP git server: git's own `git http-backend`, run as CGI behind the stdlib HTTP server.

It is the reference the Forge git tests are checked against and the baseline the benchmarks compare to.
Standard library only.

    from tests.support import githttpd
    base_url, stop = githttpd.start("/srv/repos")      # serves /srv/repos/OWNER/NAME.git
    ...
    stop()

    python tests/support/githttpd.py ROOT [--host H] [--port P]

What it does:
- every request is handed to `git http-backend` (GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL=1), with the CGI
  variables it needs, `Git-Protocol` passed on as GIT_PROTOCOL (protocol v2) and `Content-Encoding` as
  HTTP_CONTENT_ENCODING (git gzips large fetch requests);
- request bodies are streamed into the CGI: with Content-Length as they are, with
  `Transfer-Encoding: chunked` (what git sends for pushes larger than http.postBuffer) de-chunked and
  passed without CONTENT_LENGTH, which makes http-backend read to EOF;
- the CGI's `Status:` and headers are parsed and its output is streamed back with chunked encoding
  (HTTP/1.1 keep-alive) in 64 KiB pieces;
- `/OWNER/NAME/...` is also accepted for `ROOT/OWNER/NAME.git`, like Forge's URLs;
- receive-pack is enabled for everyone, and a few server options are set for all served repositories
  through GIT_CONFIG_* variables (see DEFAULT_CONFIG); `start(..., config={...})` adds or overrides them
  (e.g. `{"receive.maxInputSize": "200000"}`);
- no authentication: a Basic user name, when given, becomes REMOTE_USER.
If the client goes away in the middle of a request body, the CGI (and everything it started) is killed.
"""
import argparse
import base64
import http.server
import os
import signal
import subprocess
import sys
import threading

CHUNK = 64 * 1024

# What a forge would configure: push enabled, push options, partial clone and lazy fetches of any object,
# objects checked on the way in.
DEFAULT_CONFIG = {
    "http.receivepack": "true",
    "receive.advertisePushOptions": "true",
    "receive.fsckObjects": "true",
    "uploadpack.allowFilter": "true",
    "uploadpack.allowAnySHA1InWant": "true",
}

SERVICE_SUFFIXES = ("/info/refs", "/git-upload-pack", "/git-receive-pack", "/HEAD", "/objects/")


class _ClientGone(Exception):
    pass


class GitHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The CGI every request is handed to; a subclass may run another one (bench/browse_cgit.py runs cgit).
    cgi_command = ("git", "http-backend")

    def __init__(self, root, address, config=None, verbose=False):
        self.root = os.path.abspath(root)
        self.config = dict(DEFAULT_CONFIG)
        self.config.update(config or {})
        self.verbose = verbose
        self._children = set()
        self._children_lock = threading.Lock()
        super().__init__(address, _Handler)

    @property
    def base_url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def active_cgi_pids(self):
        """Process ids of the http-backend processes serving requests right now (each leads its own group)."""
        with self._children_lock:
            return [p.pid for p in self._children if p.poll() is None]

    def kill_active(self, sig=signal.SIGKILL):
        """Kill every running CGI with everything it started (what a crashed worker looks like)."""
        for pid in self.active_cgi_pids():
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass

    def cgi_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HTTP_"))}
        env.update(GIT_PROJECT_ROOT=self.root, GIT_HTTP_EXPORT_ALL="1", GIT_CONFIG_NOSYSTEM="1",
                   GATEWAY_INTERFACE="CGI/1.1", SERVER_SOFTWARE="githttpd")
        items = sorted(self.config.items())
        env["GIT_CONFIG_COUNT"] = str(len(items))
        for i, (k, v) in enumerate(items):
            env[f"GIT_CONFIG_KEY_{i}"] = k
            env[f"GIT_CONFIG_VALUE_{i}"] = str(v)
        return env


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "githttpd"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("githttpd: %s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    # --- request side -------------------------------------------------------------------------------
    def _path_info(self, path):
        """Maps /OWNER/NAME/<service> to /OWNER/NAME.git/<service> when only the .git directory exists."""
        for suffix in SERVICE_SUFFIXES:
            i = path.find(suffix)
            if i > 0:
                repo, rest = path[:i], path[i:]
                if not repo.endswith(".git") and not os.path.isdir(self.server.root + repo) \
                        and os.path.isdir(self.server.root + repo + ".git"):
                    return repo + ".git" + rest
                break
        return path

    def _remote_user(self):
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user = base64.b64decode(auth[6:].strip()).decode("utf-8", "replace").split(":", 1)[0]
                if user:
                    return user
            except ValueError:
                pass
        return "anonymous"

    def _body_chunks(self):
        """Yields the request body, de-chunked when it is chunked; raises _ClientGone when it is cut short."""
        rfile = self.rfile
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                line = rfile.readline(1024)
                if not line.endswith(b"\n"):
                    raise _ClientGone("chunk size line cut short")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _ClientGone("bad chunk size line %r" % line)
                if size == 0:
                    while True:  # trailers, up to the empty line
                        line = rfile.readline(8192)
                        if not line.endswith(b"\n"):
                            raise _ClientGone("trailer cut short")
                        if line in (b"\r\n", b"\n"):
                            return
                while size:
                    data = rfile.read(min(size, CHUNK))
                    if not data:
                        raise _ClientGone("chunk cut short")
                    size -= len(data)
                    yield data
                if rfile.readline(1024) not in (b"\r\n", b"\n"):
                    raise _ClientGone("chunk not followed by CRLF")
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                data = rfile.read(min(left, CHUNK))
                if not data:
                    raise _ClientGone("body cut short")
                left -= len(data)
                yield data

    # --- the CGI ----------------------------------------------------------------------------------------
    def _serve(self):
        path, _, query = self.path.partition("?")
        chunked_in = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        env = self.server.cgi_env()
        env.update(
            PATH_INFO=self._path_info(path),
            QUERY_STRING=query,
            REQUEST_METHOD=self.command,
            REMOTE_USER=self._remote_user(),
            REMOTE_ADDR=self.client_address[0],
            SERVER_PROTOCOL=self.request_version,
            SERVER_NAME=self.server.server_address[0],
            SERVER_PORT=str(self.server.server_address[1]),
        )
        if self.headers.get("Content-Type"):
            env["CONTENT_TYPE"] = self.headers["Content-Type"]
        if self.command == "POST" and not chunked_in:
            env["CONTENT_LENGTH"] = self.headers.get("Content-Length") or "0"
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]

        proc = subprocess.Popen(list(self.server.cgi_command), env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        with self.server._children_lock:
            self.server._children.add(proc)
        stderr = []
        err_thread = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
        err_thread.start()
        feed_error = []

        def feed():
            try:
                if self.command == "POST":
                    for data in self._body_chunks():
                        proc.stdin.write(data)
            except _ClientGone as e:
                feed_error.append(e)
                _kill(proc)
            except (BrokenPipeError, ConnectionError, OSError) as e:
                # the CGI stopped reading (it answered early or died): drop the rest of the body
                feed_error.append(e)
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            self._relay(proc)
        except (BrokenPipeError, ConnectionError):
            _kill(proc)
            self.close_connection = True
        finally:
            feeder.join()
            proc.wait()
            err_thread.join()
            with self.server._children_lock:
                self.server._children.discard(proc)
            if feed_error:
                self.close_connection = True
            if self.server.verbose and stderr and stderr[0]:
                sys.stderr.write("githttpd: http-backend: %s\n" % stderr[0].decode("utf-8", "replace").strip())

    def _relay(self, proc):
        out = proc.stdout
        status, headers = 200, []
        while True:
            line = out.readline()
            if not line:  # the CGI died before its headers
                self.send_error(502, "git http-backend gave no response")
                self.close_connection = True
                return
            line = line.rstrip(b"\r\n")
            if not line:
                break
            key, _, value = line.decode("latin-1").partition(":")
            value = value.strip()
            if key.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((key, value))
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        chunked = self.request_version != "HTTP/1.0"
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        while True:
            data = out.read1(CHUNK)
            if not data:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def serve(root, host="127.0.0.1", port=0, config=None, verbose=False):
    """Starts serving in a background thread; returns the GitHTTPServer (base_url, shutdown via stop())."""
    server = GitHTTPServer(root, (host, port), config=config, verbose=verbose)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()
        server.kill_active()
        thread.join(5)

    server.stop = stop
    return server


def start(root_dir, host="127.0.0.1", port=0, config=None, verbose=False):
    """Serves the bare repositories under root_dir; returns (base_url, stop)."""
    server = serve(root_dir, host, port, config=config, verbose=verbose)
    return server.base_url, server.stop


def main(argv=None):
    ap = argparse.ArgumentParser(description="Serve bare git repositories over smart HTTP with git http-backend.")
    ap.add_argument("root")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001)
    ap.add_argument("-c", "--config", action="append", default=[], metavar="KEY=VALUE",
                    help="extra git config for the served repositories")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    config = dict(kv.split("=", 1) for kv in a.config)
    server = GitHTTPServer(a.root, (a.host, a.port), config=config, verbose=a.verbose)
    print(f"serving {server.root} at {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
