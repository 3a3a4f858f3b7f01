#!/usr/bin/env python3
"""
Git's smart HTTP for the tests of `live exp push/pull/list` (test_cli_remote_net):
`git http-backend` (CGI) behind a small HTTP server of the standard library, on
127.0.0.1 at a port the kernel picks.

    git_http_server.py --root DIR --port-file FILE [--tls CERT KEY] [--auth USER:PASSWORD]

Serves every repository under DIR (GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL; pushes
need http.receivepack=true in the repository, or --auth). Once it listens it
writes its port to FILE (whole: written aside, then renamed). --tls serves
https with that certificate; --auth answers 401 to requests without that user
and password (HTTP Basic) and passes REMOTE_USER to the backend. Chunked
request bodies (libgit2 sends its pushes so) are decoded for the CGI, which
reads CONTENT_LENGTH bytes. One line per request on stderr. Stops on SIGTERM.
"""
import argparse
import base64
import http.server
import os
import ssl
import subprocess
import sys


def backend_path():
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "live-test-git-http/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stderr.flush()

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorized(self):
        want = self.server.auth
        if not want:
            return True
        got = self.headers.get("Authorization", "")
        return got == "Basic " + base64.b64encode(want.encode()).decode()

    def reply(self, code, headers, body):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def run_backend(self):
        body = self.read_body()
        if not self.authorized():
            self.reply(401, [("WWW-Authenticate", 'Basic realm="live-test"'), ("Content-Type", "text/plain")],
                       b"authentication required\n")
            return
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": self.server_version,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
        }
        if self.server.auth:
            env["REMOTE_USER"] = self.server.auth.split(":", 1)[0]
        if self.headers.get("Git-Protocol"):
            env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run([self.server.backend], input=body, env=env, capture_output=True)
        if proc.stderr:
            sys.stderr.write(proc.stderr.decode(errors="replace").rstrip("\n") + "\n")
        out = proc.stdout
        sep = out.find(b"\r\n\r\n")
        head, rest = (out[:sep], out[sep + 4:]) if sep >= 0 else (out, b"")
        if sep < 0 and b"\n\n" in out:
            head, rest = out.split(b"\n\n", 1)
        code, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            if ":" not in line:
                continue
            k, v = (s.strip() for s in line.split(":", 1))
            if k.lower() == "status":
                code = int(v.split()[0])
            else:
                headers.append((k, v))
        if proc.returncode != 0 and not head:
            code, headers, rest = 500, [("Content-Type", "text/plain")], b"git http-backend failed\n"
        self.reply(code, headers, rest)

    do_GET = run_backend
    do_POST = run_backend


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth")
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.root = os.path.abspath(a.root)
    srv.auth = a.auth
    srv.backend = backend_path()
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
