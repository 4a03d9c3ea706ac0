#!/usr/bin/env python3
"""The censor's active prober, for the TCP front's parity tests
(tests/e2e/front_parity.sh).

Runs one battery of probes against two servers at once and compares them
probe by probe: the reply (HTTP answers with their Date value blanked; raw
TLS answers as their sequence of record types and lengths, since randoms
differ), the first close event (FIN, RST, TLS close_notify, or none within
the cap) and its time. Frolov et al. (NDSS 2020) distinguish servers by
exactly these.

  prober.py parity A B [--cap S] [--tol MS] [--only tls|raw|all]
  prober.py threshold [--tls] A B  close threshold of an endless request line
                                 (--tls: of a TLS record announcing 16 KiB)
  prober.py tlsinfo HOST:PORT    protocol, cipher, group, ALPN, tickets (openssl s_client)

A and B are host:port. Exit status 1 when the servers differ.
"""
import json
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

CAP = 6.0  # seconds a probe waits for the server to close (> the 5 s header timeout)


# ---- one probe ----------------------------------------------------------

def now():
    return time.monotonic()


def raw_probe(addr, payload, cap, fin_after=False):
    """Sends payload on a plain TCP connection; reads until close or cap."""
    s = socket.create_connection(addr, timeout=cap)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = now()
    sent_err = None
    try:
        if payload:
            s.sendall(payload)
        if fin_after:
            s.shutdown(socket.SHUT_WR)
    except OSError as e:
        sent_err = type(e).__name__
    data = b""
    close = "none"
    deadline = t0 + cap
    while True:
        left = deadline - now()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            close = "RST"
            break
        if not d:
            close = "FIN"
            break
        data += d
    t = now() - t0
    s.close()
    return {"reply": data, "close": close, "ms": round(t * 1000) if close != "none" else None,
            "send_error": sent_err}


def tls_ctx(alpn=("http/1.1",)):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    if alpn:
        c.set_alpn_protocols(list(alpn))
    return c


def tls_probe(addr, payload, cap, sni="example.com"):
    """TLS handshake, then payload; reads until close or cap. The close is
    'notify' (close_notify), 'eof' (a bare FIN), 'RST' or 'none'."""
    raw = socket.create_connection(addr, timeout=cap)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = now()
    s = tls_ctx().wrap_socket(raw, server_hostname=sni, suppress_ragged_eofs=False)
    info = {"version": s.version(), "cipher": s.cipher()[0], "alpn": s.selected_alpn_protocol()}
    sent_err = None
    try:
        if payload:
            s.sendall(payload)
    except OSError as e:
        sent_err = type(e).__name__
    data = b""
    close = "none"
    deadline = t0 + cap
    while True:
        left = deadline - now()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ssl.SSLEOFError:
            close = "eof"
            break
        except ConnectionResetError:
            close = "RST"
            break
        except ssl.SSLError as e:
            close = "tls-error:" + (e.reason or "?")
            break
        if not d:
            close = "notify"
            break
        data += d
    t = now() - t0
    s.close()
    return {"reply": data, "close": close, "ms": round(t * 1000) if close != "none" else None,
            "send_error": sent_err, "tls": info}


# ---- ClientHellos ---------------------------------------------------------

def client_hello(sni="example.com", alpn=("http/1.1",)):
    """A real ClientHello from Python's OpenSSL, as bytes on the wire."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = tls_ctx(alpn).wrap_bio(inc, out, server_hostname=sni)
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def mutate(hello, how):
    b = bytearray(hello)
    # record: type(1) version(2) len(2); handshake: type(1) len(3) version(2)
    # random(32) sid_len(1) sid ... suites_len(2) suites ... comp_len(1) comp
    sid_len = b[43]
    suites_at = 44 + sid_len
    if how == "record_version":
        b[1:3] = b"\x02\x00"
    elif how == "handshake_type":
        b[5] = 0x02
    elif how == "record_overflow":
        b[3:5] = b"\x48\x01"
    elif how == "no_common_suite":
        n = (b[suites_at] << 8) | b[suites_at + 1]
        for i in range(n // 2):
            b[suites_at + 2 + 2 * i: suites_at + 4 + 2 * i] = b"\x13\x99"
    elif how == "legacy_version":
        b[9:11] = b"\x02\x00"
    elif how == "compression":
        n = (b[suites_at] << 8) | b[suites_at + 1]
        comp = suites_at + 2 + n
        b[comp + 1] = 0x01
    elif how == "truncated":
        return bytes(b[: len(b) // 2])
    elif how == "bad_ext_len":
        n = (b[suites_at] << 8) | b[suites_at + 1]
        comp = suites_at + 2 + n
        ext = comp + 1 + b[comp]
        b[ext:ext + 2] = b"\xff\xff"
    return bytes(b)


# ---- the battery ----------------------------------------------------------

def battery(only):
    rnd = random.Random(20200223)  # fixed: both servers get the same bytes
    probes = []
    if only in ("raw", "all"):
        probes.append(("silence", "raw", b"", {}))
        probes.append(("empty_fin", "raw", b"", {"fin_after": True}))
        lengths = [1, 2, 3, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17, 21, 22, 23, 32, 33, 34, 40, 41,
                   42, 48, 49, 50, 64, 100, 200, 221, 500, 1000, 1500, 2000]
        for n in lengths:
            probes.append(("rand_%d" % n, "raw", bytes(rnd.getrandbits(8) for _ in range(n)), {}))
        # Frolov et al. (NDSS 2020): the non-random probes besides HTTP and TLS
        axfr = (b"\x13\x37\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                b"\x07example\x03com\x00\x00\xfc\x00\x01")
        for name, payload in (
                ("frolov_modbus", b"\x00\x01\x00\x00\x00\x05\x00\x2b\x0e\x01\x00"),
                ("frolov_s7", bytes.fromhex("0300001611e00000000100c1020100c2020102c0010a")),
                ("frolov_dns_axfr", len(axfr).to_bytes(2, "big") + axfr),
                ("frolov_stun", b"\x00\x01\x00\x00\x21\x12\xa4\x42" + bytes(range(12)))):
            probes.append((name, "raw", payload, {}))
        # Xue et al. (USENIX Security 2022), Table 1: what gives OpenVPN away
        base1 = b"\x00\x0e\x38" + bytes(rnd.getrandbits(8) for _ in range(8)) + bytes(5)
        for name, payload in (
                ("openvpn_base1", base1),
                ("openvpn_base2", base1[:-1]),
                ("openvpn_crlf", b"\r\n\r\n"),
                ("openvpn_nul", b"\x00"),
                ("openvpn_nul2", b"\x00\x00"),
                ("openvpn_epmd", b"\x00\x01\x6e"),
                ("openvpn_ssh", b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n"),
                ("openvpn_http10", b"GET / HTTP/1.0\r\n\r\n"),
                ("openvpn_len1628", b"\x06\x5c\x38" + bytes(rnd.getrandbits(8) for _ in range(60)))):
            probes.append((name, "raw", payload, {}))
        probes.append(("plain_get", "raw", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", {}))
        probes.append(("plain_half", "raw", b"GET / HTTP/1.1\r\nHo", {}))
        probes.append(("plain_garbage_line", "raw", b"\x00\x01\x02 / HTTP/1.1\r\n\r\n", {}))
        # exactly nginx's 8k buffer: with more behind it, whether nginx's
        # close is a FIN or a RST depends on whether the rest had arrived
        # when it closed (nginx against itself differs from run to run)
        probes.append(("plain_huge_line", "raw", b"GET /" + b"a" * (8192 - 5), {}))
        hello = client_hello()
        probes.append(("hello_sni", "raw", hello, {}))
        probes.append(("hello_nosni", "raw", client_hello(sni=None), {}))
        probes.append(("hello_alpn_h2_only", "raw", client_hello(alpn=("h2",)), {}))
        for how in ("record_version", "handshake_type", "record_overflow", "no_common_suite",
                    "legacy_version", "compression", "truncated", "bad_ext_len"):
            probes.append(("hello_" + how, "raw", mutate(hello, how), {}))
        probes.append(("hello_then_fin", "raw", hello, {"fin_after": True}))
    if only in ("tls", "all"):
        H = b"Host: example.com\r\n"
        CL = b"Connection: close\r\n\r\n"
        t = [
            ("tls_silence", b""),
            ("tls_get", b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"),
            ("tls_get_keepalive", b"GET / HTTP/1.1\r\n" + H + b"\r\n"),
            ("tls_head10", b"HEAD / HTTP/1.0\r\n\r\n"),
            ("tls_404", b"GET /nope HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"),
            ("tls_index_file", b"GET /index.nginx-debian.html HTTP/1.0\r\n\r\n"),
            ("tls_post", b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nConnection: close\r\n\r\nhello"),
            ("tls_badmethod", b"FOO / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"),
            ("tls_lower_method", b"get / HTTP/1.1\r\n" + H + b"\r\n"),
            ("tls_no_host", b"GET / HTTP/1.1\r\n\r\n"),
            ("tls_dup_host", b"GET / HTTP/1.1\r\n" + H + H + b"\r\n"),
            ("tls_http2", b"GET / HTTP/2.0\r\n" + H + b"\r\n"),
            ("tls_h2_preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            ("tls_http09", b"GET /\r\n"),
            ("tls_trace", b"TRACE / HTTP/1.1\r\n" + H + b"\r\n"),
            ("tls_te_gzip", b"GET / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n"),
            ("tls_dotdot", b"GET /../etc/passwd HTTP/1.1\r\n" + H + b"\r\n"),
            ("tls_huge_line", b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n" + H + b"\r\n"),
            ("tls_huge_header", b"GET / HTTP/1.1\r\n" + H + b"X: " + b"b" * 20000 + b"\r\n\r\n"),
            ("tls_many_headers", b"GET / HTTP/1.1\r\n" + H +
             b"".join(b"X%d: %s\r\n" % (i, b"c" * 7000) for i in range(5)) + b"\r\n"),
            ("tls_half", b"GET / HTTP/1.1\r\nHo"),
            ("tls_half_post", b"POST / HTTP/1.1\r\nHo"),
            ("tls_pipelined", b"GET / HTTP/1.1\r\n" + H + b"\r\nGET /x HTTP/1.1\r\n" + H +
             b"Connection: close\r\n\r\n"),
            ("tls_keepalive_then_half", b"GET / HTTP/1.1\r\n" + H + b"\r\nGET / HT"),
            # a browser's revalidation, a download manager's ranges
            ("tls_inm", b"GET / HTTP/1.1\r\n" + H + b'If-None-Match: "x", W/"648b2d9c-267"\r\n' + CL),
            ("tls_inm_other", b"GET / HTTP/1.1\r\n" + H + b'If-None-Match: "x"\r\n' + CL),
            ("tls_ims", b"GET / HTTP/1.1\r\n" + H +
             b"If-Modified-Since: Thu, 15 Jun 2023 15:26:20 GMT\r\n" + CL),
            ("tls_ims_850", b"HEAD / HTTP/1.1\r\n" + H +
             b"If-Modified-Since: Thursday, 15-Jun-23 15:26:20 GMT\r\n" + CL),
            ("tls_ims_later", b"GET / HTTP/1.1\r\n" + H +
             b"If-Modified-Since: Thu, 15 Jun 2023 15:26:21 GMT\r\n" + CL),
            ("tls_ius_old", b"GET / HTTP/1.1\r\n" + H +
             b"If-Unmodified-Since: Tue Jun 14 15:26:20 2022\r\n\r\n"),
            ("tls_if_match", b"GET / HTTP/1.1\r\n" + H + b'If-Match: "x"\r\n' + CL),
            ("tls_range", b"GET / HTTP/1.1\r\n" + H + b"Range: bytes=0-9\r\n" + CL),
            ("tls_range_suffix", b"GET / HTTP/1.1\r\n" + H + b"Range: bytes=-5\r\n" + CL),
            ("tls_range_multi", b"GET / HTTP/1.1\r\n" + H + b"Range: bytes=0-1, 5-6,600-\r\n" + CL),
            ("tls_range_416", b"GET / HTTP/1.1\r\n" + H + b"Range: bytes=700-800\r\n\r\n"),
            ("tls_range_bad", b"GET / HTTP/1.1\r\n" + H + b"Range: bytes=x\r\n" + CL),
            ("tls_range_if_range", b"GET / HTTP/1.1\r\n" + H + b"Range: bytes=1-2\r\n"
             b"If-Range: Thu, 15 Jun 2023 15:26:20 GMT\r\n" + CL),
            ("tls_range_overlap", b"GET / HTTP/1.1\r\n" + H + b"Range: bytes=0-400,300-614\r\n" + CL),
            ("tls_range_head", b"HEAD / HTTP/1.1\r\n" + H + b"Range: bytes=10-19\r\n" + CL),
            ("tls_garbage", bytes(rnd.getrandbits(8) for _ in range(300))),
            # Debian's nginx.conf says "gzip on": what a browser gets
            ("tls_gzip_index", b"GET / HTTP/1.1\r\n" + H +
             b"Accept-Encoding: gzip, deflate, br\r\nConnection: close\r\n\r\n"),
            ("tls_gzip_404", b"GET /nope HTTP/1.1\r\n" + H +
             b"Accept-Encoding: br;q=1.0, gzip;q=0.8\r\nConnection: close\r\n\r\n"),
            ("tls_gzip_head", b"HEAD / HTTP/1.1\r\n" + H +
             b"Accept-Encoding: gzip\r\nConnection: close\r\n\r\n"),
            ("tls_gzip_q0", b"GET / HTTP/1.1\r\n" + H +
             b"Accept-Encoding: gzip;q=0\r\nConnection: close\r\n\r\n"),
            ("tls_gzip_via", b"GET / HTTP/1.1\r\n" + H +
             b"Via: 1.1 proxy\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"),
            ("tls_gzip_http10", b"GET / HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n"),
            ("tls_gzip_xgzip", b"GET / HTTP/1.1\r\n" + H +
             b"Accept-Encoding: x-gzip\r\nConnection: close\r\n\r\n"),
            ("tls_gzip_keepalive", b"GET / HTTP/1.1\r\n" + H + b"Accept-Encoding: gzip\r\n\r\n"
             b"GET /nope HTTP/1.1\r\n" + H + b"Accept-Encoding: gzip\r\nConnection: close\r\n\r\n"),
            ("tls_upgrade_no_token",
             b"GET /chat HTTP/1.1\r\n" + H + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
            ("tls_upgrade_root",
             b"GET / HTTP/1.1\r\n" + H + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        ]
        for name, payload in t:
            probes.append((name, "tls", payload, {}))
        # SNI invariance (research P1-T6): another name, none at all
        get = b"GET / HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"
        probes.append(("tls_sni_other", "tls", get, {"sni": "other.test"}))
        probes.append(("tls_sni_none", "tls", get, {"sni": None}))
    return probes


def run_one(addr, kind, payload, opts, cap):
    try:
        if kind == "raw":
            return raw_probe(addr, payload, cap, **opts)
        return tls_probe(addr, payload, cap, **opts)
    except Exception as e:  # a failed handshake is a result too
        return {"reply": b"", "close": "error:" + type(e).__name__, "ms": None,
                "send_error": None}


def run_battery(addr, probes, cap):
    results = [None] * len(probes)

    def work(i):
        name, kind, payload, opts = probes[i]
        results[i] = run_one(addr, kind, payload, opts, cap)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(probes))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


# ---- normalizing and comparing -------------------------------------------

def tls_records(b):
    out = []
    i = 0
    while i + 5 <= len(b):
        t, ln = b[i], (b[i + 3] << 8) | b[i + 4]
        rec = "%d/%d" % (t, ln)
        if t == 21 and i + 5 + ln <= len(b) and ln == 2:
            rec += ":" + b[i + 5:i + 7].hex()  # a plaintext alert: level, description
        out.append(rec)
        i += 5 + ln
    if i < len(b):
        out.append("+%d" % (len(b) - i))
    return " ".join(out)


def norm(reply):
    if reply[:1] in (b"\x15", b"\x16") and (len(reply) < 3 or reply[1] == 3):
        return "TLS " + tls_records(reply)
    text = reply.decode("latin-1")
    text = re.sub(r"(?m)^Date: [^\r\n]*", "Date: *", text)
    # multipart boundaries count a server's answers: their format is
    # compared, not which number this server is at
    return re.sub(r"(boundary=|\r\n--)\d{20}", r"\g<1>N" * 1 + "N" * 19, text)


def same(a, b, tol_ms):
    why = []
    if norm(a["reply"]) != norm(b["reply"]):
        why.append("reply")
    if a["close"] != b["close"]:
        why.append("close %s vs %s" % (a["close"], b["close"]))
    elif a["ms"] is not None and b["ms"] is not None and abs(a["ms"] - b["ms"]) > tol_ms:
        why.append("time %d vs %d ms" % (a["ms"], b["ms"]))
    if a.get("tls") != b.get("tls"):
        why.append("tls %s vs %s" % (a.get("tls"), b.get("tls")))
    return why


def short(r):
    n = norm(r["reply"])
    first = repr(n.split("\r\n", 1)[0][:58])[1:-1][:60]
    return "%-60s %-8s %s" % (first, r["close"], "-" if r["ms"] is None else "%dms" % r["ms"])


def parse_addr(s):
    h, p = s.rsplit(":", 1)
    return (h, int(p))


def cmd_parity(args):
    a, b = parse_addr(args[0]), parse_addr(args[1])
    cap, tol, only = CAP, 250, "all"
    i = 2
    while i < len(args):
        if args[i] == "--cap":
            cap = float(args[i + 1])
        elif args[i] == "--tol":
            tol = int(args[i + 1])
        elif args[i] == "--only":
            only = args[i + 1]
        i += 2
    probes = battery(only)
    ra, rb = [None], [None]
    ta = threading.Thread(target=lambda: ra.__setitem__(0, run_battery(a, probes, cap)))
    tb = threading.Thread(target=lambda: rb.__setitem__(0, run_battery(b, probes, cap)))
    ta.start()
    tb.start()
    ta.join()
    tb.join()
    bad = 0
    for (name, _, _, _), x, y in zip(probes, ra[0], rb[0]):
        why = same(x, y, tol)
        mark = "ok  " if not why else "DIFF"
        print("%s %-24s %s" % (mark, name, short(x)))
        if why:
            bad += 1
            print("     %-24s %s   <- %s" % ("", short(y), "; ".join(why)))
            if "reply" in why[0]:
                print("       A: %r" % norm(x["reply"])[:400])
                print("       B: %r" % norm(y["reply"])[:400])
    print("%d probes, %d differ" % (len(probes), bad))
    return 1 if bad else 0


def http_line(n):
    """An unfinished request line of n bytes."""
    return b"GET /" + b"a" * max(0, n - 5)


def tls_record(n):
    """n bytes of a TLS handshake record that announces 16384 bytes of
    body (the largest allowed) and fills it with zeros."""
    return (b"\x16\x03\x01\x40\x00" + b"\x00" * 16384)[:max(1, n)]


def answers_fast(addr, n, wait, make=http_line):
    """Does the payload of n bytes get an answer (or a close) within wait
    seconds?"""
    r = raw_probe(addr, make(n), wait)
    return r["close"] != "none" or len(r["reply"]) > 0


def threshold(addr, wait=0.4, make=http_line):
    """Frolov's search: start at 4096 bytes, double until the server
    answers, then binary search the smallest length it answers at once."""
    lo, hi = 0, 4096
    while not answers_fast(addr, hi, wait, make):
        lo, hi = hi, hi * 2
        if hi > 1 << 20:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if answers_fast(addr, mid, wait, make):
            hi = mid
        else:
            lo = mid
    return hi


def cmd_threshold(args):
    make = http_line
    if args and args[0] == "--tls":
        make = tls_record
        args = args[1:]
    addrs = [parse_addr(x) for x in args]
    res = [None] * len(addrs)
    ths = [threading.Thread(target=lambda i=i: res.__setitem__(i, threshold(addrs[i], make=make)))
           for i in range(len(addrs))]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    for a, r in zip(args, res):
        print("threshold %s %s" % (a, r))
    return 0 if len(set(res)) == 1 and res[0] is not None else 1


def resumes(host, port, extra):
    """Does a second connection resume the first one's session (tickets)?"""
    sess = "/tmp/prober-%d-%d.sess" % (os.getpid(), port)
    base = ["openssl", "s_client", "-connect", "%s:%d" % (host, port),
            "-servername", "example.com"] + extra
    # TLS 1.3 tickets come after the handshake: give the server a request
    # so that they arrive before the connection closes
    req = b"HEAD / HTTP/1.0\r\n\r\n"
    subprocess.run(base + ["-sess_out", sess, "-ign_eof"], input=req, capture_output=True,
                   timeout=10)
    out = subprocess.run(base + ["-sess_in", sess, "-ign_eof"], input=req,
                         capture_output=True, timeout=10).stdout.decode("latin-1")
    try:
        os.unlink(sess)
    except OSError:
        pass
    m = re.search(r"^(New|Reused), ", out, re.M)
    return m.group(1) if m else None


def cmd_tlsinfo(args):
    host, port = parse_addr(args[0])
    out = subprocess.run(
        ["openssl", "s_client", "-connect", "%s:%d" % (host, port), "-servername", "example.com",
         "-alpn", "h2,http/1.1", "-msg", "-ign_eof"],
        input=b"", capture_output=True, timeout=10).stdout.decode("latin-1")
    info = {
        "protocol": re.search(r"Protocol *: *(\S+)", out),
        "cipher": re.search(r"Cipher is (\S+)", out),
        "group": re.search(r"Server Temp Key: ([^\n]+)", out),
        "alpn": re.search(r"ALPN protocol: (\S+)", out),
    }
    info = {k: (v.group(1) if v else None) for k, v in info.items()}
    info["tickets"] = out.count("NewSessionTicket")
    info["resumed13"] = resumes(host, port, [])
    info["resumed12"] = resumes(host, port, ["-tls1_2"])
    print(json.dumps(info, sort_keys=True))
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    return {"parity": cmd_parity, "threshold": cmd_threshold, "tlsinfo": cmd_tlsinfo}[cmd](args)


if __name__ == "__main__":
    sys.exit(main())
