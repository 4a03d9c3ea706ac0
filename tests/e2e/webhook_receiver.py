#!/usr/bin/env python3
"""A webhook receiver for tests/e2e/webhooks.sh, written from docs/webhooks.md.

Listens on ADDR:PORT for POSTs, checks each one as a receiver should
(X-LostLove-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>,
t within 300 s of now, the body JSON with id/type/time/node/data and the
X-LostLove-Event header naming its type) and prints one line per request:

    recv n=<n> status=<answer> sig=<ok|bad> type=<type> id=<id> data=<json>

It answers 500 to the first --fail-first requests (to make the server
retry), 400 to a request whose signature does not verify, 200 otherwise.
"""
import argparse
import hashlib
import hmac
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def verify(secret: bytes, header: str, body: bytes) -> bool:
    """The receiver's check of docs/webhooks.md."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t = parts.get("t", "")
    if not t.isdigit() or abs(time.time() - int(t)) > TOLERANCE_S:
        return False
    want = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    sigs = [p.split("=", 1)[1] for p in header.split(",") if p.startswith("v1=")]
    return any(hmac.compare_digest(want, s) for s in sigs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                    help="serve HTTPS with this certificate chain and key")
    args = ap.parse_args()
    with open(args.secret_file, "rb") as f:
        secret = f.read().rstrip(b"\r\n\t ")
    lock = threading.Lock()
    state = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            sig_ok = verify(secret, self.headers.get("X-LostLove-Signature", ""), body)
            try:
                ev = json.loads(body)
                typ, eid, data = ev["type"], ev["id"], ev["data"]
                assert set(ev) == {"id", "type", "time", "node", "data"}, sorted(ev)
                assert self.headers.get("X-LostLove-Event") == typ
                assert self.headers.get("Content-Type") == "application/json"
            except Exception as e:  # a body that breaks the format fails the test
                typ, eid, data, sig_ok = "malformed", "-", str(e), False
            with lock:
                state["n"] += 1
                n = state["n"]
                if not sig_ok:
                    status = 400
                elif n <= args.fail_first:
                    status = 500
                else:
                    status = 200
                print(f"recv n={n} status={status} sig={'ok' if sig_ok else 'bad'} "
                      f"type={typ} id={eid} data={json.dumps(data, sort_keys=True)}",
                      flush=True)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    # SIGTERM ends it at once, kept-alive connections and all (the test
    # takes the receiver down while the server holds a connection to it)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer((args.listen, args.port), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*args.tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"receiver: listening on {args.listen}:{args.port}"
          f"{' (tls)' if args.tls else ''}", flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
