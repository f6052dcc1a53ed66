"""An authenticating reverse proxy on loopback, standing in for ripgit's auth worker or an SSO proxy
in front of Forge: it checks its own credentials (HTTP Basic against its own table), drops whatever
X-Forge-Actor-* and Authorization headers the client sent, names the actor in X-Forge-Actor-* and
forwards the request to Forge from its own source address (which Forge lists in FORGE_TRUSTED_PROXIES).

    proxy = AuthProxy(forge_url, users={"alice": ("pw", {"Kind": "user"})}, source="127.0.0.2").start()
    git clone http://alice:pw@127.0.0.1:{proxy.port}/alice/repo.git
"""
import base64
import http.client
import http.server
import threading
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "content-length"}


class AuthProxy:
    def __init__(self, target_url, users, source="127.0.0.2"):
        parts = urlsplit(target_url)
        self.target = (parts.hostname, parts.port)
        self.users = users  # name -> (password, {"Kind": ..., "Scopes": ...})
        self.source = source
        self.server = None

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: the body ends when we close

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._forward()

            do_POST = do_HEAD = do_GET

            def _forward(self):
                actor = proxy._authenticate(self.headers.get("Authorization", ""))
                if actor is None:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="proxy"')
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {key: value for key, value in self.headers.items()
                           if key.lower() not in HOP_BY_HOP and key.lower() != "authorization"
                           and not key.lower().startswith("x-forge-actor-")}
                headers.update({f"X-Forge-Actor-{key}": value for key, value in actor.items()})
                upstream = http.client.HTTPConnection(*proxy.target, timeout=60,
                                                      source_address=(proxy.source, 0))
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.end_headers()
                while chunk := response.read(65536):
                    self.wfile.write(chunk)
                upstream.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def _authenticate(self, authorization):
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            name, _, password = base64.b64decode(credentials).decode().partition(":")
        except ValueError:
            return None
        entry = self.users.get(name)
        if entry is None or entry[0] != password:
            return None
        return {"Name": name, **entry[1]}
