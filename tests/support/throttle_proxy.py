"""A TCP proxy on loopback that slows the client→server direction down and counts what it forwarded.

Used to catch a push in the middle: start `git push` through the proxy, wait until about half of the pack
has gone through (`wait_for(n)`), then kill the client or the server.

    proxy = ThrottleProxy("127.0.0.1", 8000, rate=256 * 1024).start()
    url = f"http://127.0.0.1:{proxy.port}/alice/repo.git"
    ...
    proxy.wait_for(2_000_000, timeout=30)
    proxy.stop()

The server→client direction is not slowed down. When one side closes or fails, the other side's connection
is closed too, so a killed client looks like a dropped connection to the server and vice versa.
"""
import socket
import threading
import time

PIECE = 16 * 1024


class ThrottleProxy:
    def __init__(self, target_host, target_port, rate=256 * 1024, host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.rate = rate  # bytes per second, client -> server
        self.host = host
        self.port = None
        self.bytes_up = 0  # client -> server, forwarded
        self.bytes_down = 0  # server -> client, forwarded
        self.connections = 0
        self._cond = threading.Condition()
        self._listener = None
        self._stopped = threading.Event()
        self._sockets = set()

    # --- life cycle -----------------------------------------------------------------------------------------
    def start(self):
        self._listener = socket.create_server((self.host, 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self):
        self._stopped.set()
        try:
            self._listener.close()
        except OSError:
            pass
        for s in list(self._sockets):
            _close(s)

    def __enter__(self):
        return self.start() if self.port is None else self

    def __exit__(self, *exc):
        self.stop()

    def wait_for(self, nbytes, timeout=60):
        """Waits until at least nbytes went client -> server; returns False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.bytes_up < nbytes:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
        return True

    # --- forwarding -----------------------------------------------------------------------------------------
    def _accept_loop(self):
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            self.connections += 1
            self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src, dst, up):
        started = time.monotonic()
        sent = 0
        try:
            while True:
                data = src.recv(PIECE)
                if not data:
                    break
                if up:
                    # keep the average at `rate`: sleep until this connection's byte count is due
                    due = started + (sent + len(data)) / self.rate
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                dst.sendall(data)
                sent += len(data)
                with self._cond:
                    if up:
                        self.bytes_up += len(data)
                    else:
                        self.bytes_down += len(data)
                    self._cond.notify_all()
        except OSError:
            pass
        finally:
            # one direction ended: end the other one as well (a half-open connection would only hang)
            _close(src)
            _close(dst)
            self._sockets.discard(src)
            self._sockets.discard(dst)


def _close(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
