"""Network helpers for the registry tests: a Bearer token server and a fault-injecting proxy.

Both are small HTTP servers on a free port of 127.0.0.1, run in a thread for a with-block.

TokenServer issues the JSON Web Tokens docker-registry's `auth: token` mode checks: RS256,
signed with a key whose self-signed certificate is the registry's `rootcertbundle` and travels in
the token's `x5c` header. It grants what the distribution token spec describes: with valid Basic
credentials every action asked for; anonymously `pull` when `anonymous_pull`, else nothing (the
registry then answers 401 again, as Docker Hub does for a private repository); with wrong
credentials a 401.

FaultProxy forwards every request to a registry and answers some of them itself, by rules tried
in order: the first rule whose method and path pattern match, and whose count is not used up,
takes the request. Faults:
  status   answer with that status (and `headers`) instead of forwarding;
  reset    forward, send the headers and half the body, then reset the connection (RST);
  cut      send the registry the request's headers and half its body, then drop both
           connections (RST to the client): an upload chunk broken mid-way;
  expire   answer 401 with the registry's own Bearer challenge, as for an expired token
           (only requests that carry a token match).
It counts, per request line, what it forwarded and how many body bytes went to the client. The
client's Host header goes to the registry, so the upload Locations it answers point back here.
"""

import base64
import http.client
import http.server
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
import urllib.parse
import uuid


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """A ThreadingHTTPServer for `handler` on a free port, served from a daemon thread."""

    def start(self, handler):
        self.port = _free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class TokenServer(_Server):
    SERVICE = "ocifs-test-registry"
    ISSUER = "ocifs-test-token-server"

    def __init__(self, workdir, users=None, anonymous_pull=True):
        self.users = users or {}
        self.anonymous_pull = anonymous_pull
        self.key = os.path.join(workdir, "token.key")
        self.cert = os.path.join(workdir, "token.crt")
        self.lock = threading.Lock()
        self.issued = []  # (user or None, scope, granted actions)

    def __enter__(self):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "2", "-subj", "/CN=ocifs-test-token-server"],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.start(_TokenHandler)
        self.realm = f"http://127.0.0.1:{self.port}/token"
        return self

    def __exit__(self, *exc):
        self.stop()

    def registry_config(self):
        """The `auth:` section of a docker-registry config that trusts this server's tokens."""
        return (f"auth:\n  token:\n    realm: {self.realm}\n    service: {self.SERVICE}\n"
                f"    issuer: {self.ISSUER}\n    rootcertbundle: {self.cert}\n")

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key], input=signing_input.encode(),
                             check=True, capture_output=True).stdout
        return f"{signing_input}.{_b64url(sig)}"

    def grant(self, authorization, scopes):
        """(user, access list) for a token request, or None for wrong credentials."""
        user = None
        if authorization:
            kind, _, value = authorization.partition(" ")
            if kind.lower() != "basic":
                return None
            name, _, password = base64.b64decode(value).decode().partition(":")
            if self.users.get(name) != password:
                return None
            user = name
        access = []
        for scope in scopes:
            kind, name, actions = (scope.split(":") + ["", "", ""])[:3]
            if kind != "repository" or not name:
                continue
            want = [a for a in actions.split(",") if a]
            allowed = want if user else [a for a in want if a == "pull" and self.anonymous_pull]
            if allowed:
                access.append({"type": "repository", "name": name, "actions": allowed})
        return user, access


class _TokenHandler(_QuietHandler):
    def do_GET(self):
        server = self.server.owner
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404)
        query = urllib.parse.parse_qs(url.query)
        scopes = query.get("scope", [])
        granted = server.grant(self.headers.get("Authorization"), scopes)
        if granted is None:
            return self.reply(401, b'{"details":"wrong user name or password"}',
                              [("Content-Type", "application/json")])
        user, access = granted
        now = int(time.time())
        token = server.sign({"iss": server.ISSUER, "sub": user or "", "aud": query.get("service", [""])[0],
                             "exp": now + 600, "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex,
                             "access": access})
        with server.lock:
            server.issued.append((user, scopes, access))
        body = json.dumps({"token": token, "expires_in": 600}).encode()
        self.reply(200, body, [("Content-Type", "application/json")])


class Fault:
    """What the proxy does to the first `count` requests that match: `status` (answers it
    instead), `reset` (half the answer, then the connection drops), `cut` (half the body reaches
    the registry, then both connections drop), `expire` (a Bearer request gets 401 as if its
    token had expired), `delay` (forwarded after `seconds`)."""

    def __init__(self, method, path, kind, count=1, status=None, headers=(), seconds=0):
        self.method, self.path, self.kind = method, re.compile(path), kind
        self.count, self.status, self.headers, self.seconds = count, status, list(headers), seconds
        self.fired = 0

    def matches(self, method, path, authorization):
        if self.fired >= self.count or method != self.method or not self.path.search(path):
            return False
        return self.kind != "expire" or (authorization or "").startswith("Bearer ")


class FaultProxy(_Server):
    def __init__(self, upstream_port, faults=()):
        self.upstream_port = upstream_port
        self.faults = list(faults)
        self.lock = threading.Lock()
        self.log = []  # (method, path, status, body bytes sent), in the order answered

    def __enter__(self):
        self.start(_ProxyHandler)
        self.host = f"127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        self.stop()

    def take_fault(self, method, path, authorization):
        with self.lock:
            for f in self.faults:
                if f.matches(method, path, authorization):
                    f.fired += 1
                    return f
        return None

    def record(self, method, path, status, sent):
        with self.lock:
            self.log.append((method, path, status, sent))

    def requests(self):
        with self.lock:
            return list(self.log)


class _ProxyHandler(_QuietHandler):
    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def upstream_headers(self):
        return {k: v for k, v in self.headers.items() if k.lower() != "connection"}

    def forward(self, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.owner.upstream_port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=self.upstream_headers())
            r = conn.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            conn.close()

    def reset_client(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def cut(self, body):
        """Half the body to the registry, then both connections dropped."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.owner.upstream_port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.upstream_headers().items():
                conn.putheader(k, v)
            conn.endheaders()
            conn.send((body or b"")[: len(body or b"") // 2])
            time.sleep(0.2)  # let the registry take what it got before the connection drops
        finally:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        self.server.owner.record(self.command, self.path, "cut", 0)
        self.reset_client()

    def handle_any(self):
        proxy = self.server.owner
        fault = proxy.take_fault(self.command, self.path, self.headers.get("Authorization"))
        body = self.read_body()  # read even when not forwarded: the connection is reused
        if fault is not None and fault.kind == "cut":
            return self.cut(body)
        if fault is not None and fault.kind == "status":
            proxy.record(self.command, self.path, fault.status, 0)
            return self.reply(fault.status, b"", fault.headers)
        if fault is not None and fault.kind == "expire":
            challenge = self.forward_challenge()
            proxy.record(self.command, self.path, 401, 0)
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}',
                              [("WWW-Authenticate", challenge), ("Content-Type", "application/json")])
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        status, headers, body = self.forward(body)
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        # A HEAD answer has no body but says the size of the blob it names.
        length = dict((k.lower(), v) for k, v in headers).get("content-length", "0")
        self.send_header("Content-Length", length if self.command == "HEAD" else str(len(body)))
        self.end_headers()
        send = body if self.command != "HEAD" else b""
        if fault is not None and fault.kind == "reset":
            self.wfile.write(send[: len(send) // 2])
            self.wfile.flush()
            proxy.record(self.command, self.path, "reset", len(send) // 2)
            return self.reset_client()
        self.wfile.write(send)
        proxy.record(self.command, self.path, status, len(send))

    def forward_challenge(self):
        """The registry's WWW-Authenticate for this request without credentials."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.owner.upstream_port, timeout=60)
        try:
            conn.request("GET", "/v2/")
            r = conn.getresponse()
            r.read()
            path = re.match(r"/v2/(.+?)/(?:manifests|blobs)/", self.path)
            challenge = r.getheader("WWW-Authenticate", "")
            if path and "scope=" not in challenge:
                challenge += f',scope="repository:{path.group(1)}:pull"'
            return challenge
        finally:
            conn.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any
