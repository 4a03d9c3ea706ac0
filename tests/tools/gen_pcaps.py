#!/usr/bin/env python3
"""Synthetic captures: the positive (and negative) controls of the censor's tools.

    gen_pcaps.py OUTDIR

writes, deterministically (fixed seeds), one pcap per control:

  wireguard.pcap    WireGuard-shaped UDP: type 1 / 148 bytes / reserved zero, type 2 /
                    92 bytes answering its sender index, then type-4 data both ways.
                    nDPI must say WireGuard; tshark must label it wg.
  openvpn_fast.pcap a first UDP payload of 80 bytes with opcode byte 0x58: nDPI 4.2's
                    one-packet OpenVPN rule (80 bytes, opcode in {184, 88, 160, 168, 200}).
  openvpn.pcap      OpenVPN-shaped UDP on a non-standard port: client hard reset V2
                    (0x38, 8-byte session id, HMAC-SHA1, packet-id 1), server hard reset
                    (0x40) echoing it, then ACKs, control and data packets. nDPI must say
                    OpenVPN; the Xue-2022 opcode and ACK rules must flag it.
  tls_noalpn.pcap   TCP 443: a TLS 1.2/1.3 ClientHello with SNI and no ALPN.
                    nDPI must raise TLS_NOT_CARRYING_HTTPS.
  tls_alpn.pcap     the same ClientHello with ALPN h2,http/1.1: no such risk.
  random.pcap       12,000 uniformly random UDP payloads of random sizes each way:
                    pcap_stats must flag no byte position and no forbidden size; the
                    opcode rule must not fire.
  constant.pcap     12,000 UDP payloads each way, random except bytes 0-3 (a constant
                    header), 4 (one of 4 values) and the size 92 on every 50th packet:
                    pcap_stats must flag positions 0-4 and the forbidden size.
  https.pcap        the same outer handshake, then one small request (200 bytes) and its
                    response: the plain-HTTPS shape (RT 1, first burst < 300), not TLS-in-TLS.
  randflows.pcap    1000 flows of 30 uniformly random payloads (40-400 bytes, none of the
                    forbidden sizes, alternating directions) to UDP 443: the base rate of
                    nDPI labels on random bytes.
  edge25.pcap       three flows of 30 random payloads to UDP 443, as a flow first seen
                    mid-session: 11 alternating, 10 up, then down; an RTP-looking packet
                    (0xa0, payload type 99) from the server at position 24, 25 or 26.
                    ndpiReader, which dissects a UDP flow's first 25 packets, says RTP,
                    RTP, Unknown; ndpi_flows -m 24 must say the same.
  iphygiene.pcap    three packets one way: DSCP AF41 (WireGuard's handshake marking),
                    then TTL 63 without DF, then ECN ECT(1): pcap_stats must flag each.
  tlsintls.pcap     a TLS connection whose first application records after the outer
                    handshake replay an inner TLS handshake (burst sizes of a ClientHello,
                    server flight, Finished): the 4-burst check must flag it.

Only the standard library: a hand-written pcap writer (Ethernet, IPv4, UDP/TCP).
Checksums are left zero; the tools do not check them.
"""
import os
import random
import struct
import sys

FORBIDDEN = (64, 80, 92, 112, 148)  # nDPI 4.2's OpenVPN and WireGuard sizes
CLIENT = bytes([198, 51, 100, 2])
SERVER = bytes([198, 51, 100, 1])


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        # magic, v2.4, tz 0, sigfigs 0, snaplen 65535, Ethernet
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = 1_700_000_000.0
        self.ip_id = 1

    def frame(self, l3, dt=0.001):
        self.t += dt
        eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
        data = eth + l3
        sec = int(self.t)
        usec = int(round((self.t - sec) * 1e6))
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        self.f.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)

    def ipv4(self, src, dst, proto, l4, tos=0, ttl=64, df=True):
        total = 20 + len(l4)
        hdr = struct.pack(">BBHHHBBH4s4s", 0x45, tos, total, self.ip_id & 0xFFFF,
                          0x4000 if df else 0, ttl, proto, 0, src, dst)
        self.ip_id += 1
        return hdr + l4

    def udp(self, src, sport, dst, dport, payload, **kw):
        l4 = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
        self.frame(self.ipv4(src, dst, 17, l4, **kw))

    def tcp(self, src, sport, dst, dport, seq, ack, flags, payload=b""):
        l4 = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         5 << 4, flags, 65535, 0, 0) + payload
        self.frame(self.ipv4(src, dst, 6, l4))

    def close(self):
        self.f.close()


class TcpConn:
    """A TCP connection with its handshake; send() segments at 1448 bytes."""

    def __init__(self, pcap, sport, dport):
        self.p, self.sport, self.dport = pcap, sport, dport
        self.seq = [1000, 5000]  # client, server
        self.p.tcp(CLIENT, sport, SERVER, dport, self.seq[0], 0, 0x02)
        self.p.tcp(SERVER, dport, CLIENT, sport, self.seq[1], self.seq[0] + 1, 0x12)
        self.seq = [self.seq[0] + 1, self.seq[1] + 1]
        self.p.tcp(CLIENT, sport, SERVER, dport, self.seq[0], self.seq[1], 0x10)

    def send(self, from_client, data):
        i = 0 if from_client else 1
        src, sp, dst, dp = ((CLIENT, self.sport, SERVER, self.dport) if from_client
                            else (SERVER, self.dport, CLIENT, self.sport))
        for off in range(0, len(data), 1448):
            chunk = data[off:off + 1448]
            self.p.tcp(src, sp, dst, dp, self.seq[i], self.seq[1 - i], 0x18, chunk)
            self.seq[i] += len(chunk)
        # the peer's pure ACK
        self.p.tcp(dst, dp, src, sp, self.seq[1 - i], self.seq[i], 0x10)


def rnd(r, n):
    return r.randbytes(n)


def wireguard(path):
    r = random.Random(1)
    p = Pcap(path)
    sport, dport = 40001, 34567  # not 51820: detection must not come from the port
    ci, si = rnd(r, 4), rnd(r, 4)
    p.udp(CLIENT, sport, SERVER, dport, b"\x01\x00\x00\x00" + ci + rnd(r, 140))
    p.udp(SERVER, dport, CLIENT, sport, b"\x02\x00\x00\x00" + si + ci + rnd(r, 80))
    for n in range(6):
        ctr = struct.pack("<Q", n)
        p.udp(CLIENT, sport, SERVER, dport, b"\x04\x00\x00\x00" + si + ctr + rnd(r, 96))
        p.udp(SERVER, dport, CLIENT, sport, b"\x04\x00\x00\x00" + ci + ctr + rnd(r, 96))
    p.close()


def openvpn_fast(path):
    r = random.Random(2)
    p = Pcap(path)
    p.udp(CLIENT, 40002, SERVER, 34568, b"\x58" + rnd(r, 79))
    p.udp(SERVER, 34568, CLIENT, 40002, rnd(r, 200))
    p.close()


def openvpn(path):
    """Client and server hard resets with tls-auth (HMAC-SHA1), then the control
    channel (P_ACK_V1 0x28, P_CONTROL_V1 0x20) and data (P_DATA_V2 0x48)."""
    r = random.Random(3)
    p = Pcap(path)
    sport, dport = 40003, 34569
    csid, ssid = rnd(r, 8), rnd(r, 8)
    hmac = lambda: rnd(r, 20)  # noqa: E731
    pid = lambda n: struct.pack(">II", n, 1_700_000_000)  # noqa: E731

    def c2s(b):
        p.udp(CLIENT, sport, SERVER, dport, b)

    def s2c(b):
        p.udp(SERVER, dport, CLIENT, sport, b)

    # client hard reset: opcode, session id, hmac, packet id, ack len 0, msg id 0
    c2s(b"\x38" + csid + hmac() + pid(1) + b"\x00" + struct.pack(">I", 0))
    # server hard reset: acks the client's message 0, echoes its session id
    s2c(b"\x40" + ssid + hmac() + pid(1) + b"\x01" + struct.pack(">I", 0) + csid +
        struct.pack(">I", 0))
    c2s(b"\x28" + csid + hmac() + pid(2) + b"\x01" + struct.pack(">I", 0) + ssid)
    n = 3
    for i in range(8):  # the TLS handshake in P_CONTROL_V1, each acked (same-size ACKs)
        c2s(b"\x20" + csid + hmac() + pid(n) + b"\x00" + struct.pack(">I", i + 1) +
            rnd(r, 100 + 37 * i))
        s2c(b"\x28" + ssid + hmac() + pid(n) + b"\x01" + struct.pack(">I", i + 1) + csid)
        s2c(b"\x20" + ssid + hmac() + pid(n + 1) + b"\x00" + struct.pack(">I", i + 1) +
            rnd(r, 300 + 11 * i))
        c2s(b"\x28" + csid + hmac() + pid(n + 1) + b"\x01" + struct.pack(">I", i + 1) + ssid)
        n += 2
    for i in range(80):  # data channel: P_DATA_V2, peer id, packet id, payload
        c2s(b"\x48\x00\x00\x01" + struct.pack(">I", i) + rnd(r, 60 + r.randrange(1200)))
        s2c(b"\x48\x00\x00\x01" + struct.pack(">I", i) + rnd(r, 60 + r.randrange(1200)))
    p.close()


def ext(t, body):
    return struct.pack(">HH", t, len(body)) + body


def client_hello(r, alpn):
    sni = b"www.example.com"
    exts = ext(0, struct.pack(">HBH", len(sni) + 3, 0, len(sni)) + sni)
    exts += ext(10, struct.pack(">HHH", 4, 0x001D, 0x0017))            # groups
    exts += ext(11, b"\x01\x00")                                       # ec point formats
    exts += ext(13, struct.pack(">HHHH", 6, 0x0403, 0x0804, 0x0401))   # sig algs
    if alpn:
        names = b"".join(bytes([len(a)]) + a for a in alpn)
        exts += ext(16, struct.pack(">H", len(names)) + names)
    exts += ext(43, b"\x04\x03\x04\x03\x03")                           # versions 1.3, 1.2
    exts += ext(51, struct.pack(">HHH", 36, 0x001D, 32) + rnd(r, 32))  # key share
    suites = struct.pack(">HHHHH", 8, 0x1301, 0x1302, 0xC02B, 0xC02F)
    body = (b"\x03\x03" + rnd(r, 32) + b"\x20" + rnd(r, 32) + suites + b"\x01\x00" +
            struct.pack(">H", len(exts)) + exts)
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def tls(path, alpn):
    r = random.Random(4)
    p = Pcap(path)
    c = TcpConn(p, 40004, 443)
    c.send(True, client_hello(r, alpn))
    p.close()


def records(r, sizes):
    """TLS 1.3-looking application data records with these plaintext sizes."""
    return b"".join(b"\x17\x03\x03" + struct.pack(">H", s) + rnd(r, s) for s in sizes)


def tlsintls(path):
    """The outer TLS 1.3 handshake, then an inner TLS handshake carried in
    application data records (+ 24 bytes of tunnel overhead each): a ClientHello
    (517), the server flight (about 2900), the client Finished (74), then the
    inner HTTP request and response."""
    r = random.Random(5)
    p = Pcap(path)
    c = TcpConn(p, 40005, 443)
    c.send(True, client_hello(r, [b"h2"]))
    # server hello + change cipher spec + encrypted flight
    c.send(False, b"\x16\x03\x03\x00\x7a" + rnd(r, 122) + b"\x14\x03\x03\x00\x01\x01" +
           records(r, [2400]))
    c.send(True, b"\x14\x03\x03\x00\x01\x01" + records(r, [53]))
    c.send(True, records(r, [517 + 24]))
    c.send(False, records(r, [2900 + 24]))
    c.send(True, records(r, [74 + 24]))
    c.send(False, records(r, [300 + 24]))
    c.send(True, records(r, [400 + 24]))
    c.send(False, records(r, [5000]))
    p.close()


def iphygiene(path):
    r = random.Random(8)
    p = Pcap(path)
    p.udp(CLIENT, 40007, SERVER, 34571, rnd(r, 200), tos=0x88)
    p.udp(CLIENT, 40007, SERVER, 34571, rnd(r, 200), ttl=63, df=False)
    p.udp(CLIENT, 40007, SERVER, 34571, rnd(r, 200), tos=0x01)
    p.close()


def https(path):
    r = random.Random(9)
    p = Pcap(path)
    c = TcpConn(p, 40008, 443)
    c.send(True, client_hello(r, [b"h2"]))
    c.send(False, b"\x16\x03\x03\x00\x7a" + rnd(r, 122) + b"\x14\x03\x03\x00\x01\x01" +
           records(r, [2400]))
    c.send(True, b"\x14\x03\x03\x00\x01\x01" + records(r, [53]))
    c.send(False, records(r, [250]))  # a session ticket: skipped, it precedes the request
    c.send(True, records(r, [190]))
    c.send(False, records(r, [6000]))
    p.close()


def randflows(path):
    r = random.Random(10)
    p = Pcap(path)
    for f in range(1000):
        sport = 20000 + f
        for i in range(30):
            size = r.randrange(40, 400)
            while size in FORBIDDEN:  # as stealth must (with them, ~2 in 1000 are OpenVPN)
                size = r.randrange(40, 400)
            if i % 2 == 0:
                p.udp(CLIENT, sport, SERVER, 443, rnd(r, size))
            else:
                p.udp(SERVER, 443, CLIENT, sport, rnd(r, size))
    p.close()


def edge25(path):
    r = random.Random(11)
    p = Pcap(path)
    for sport, rtp_at in ((21001, 24), (21002, 25), (21003, 26)):
        for i in range(1, 31):
            up = i % 2 == 1 if i <= 11 else i <= 21
            payload = b"\x11" + rnd(r, 199)
            if i == rtp_at:
                payload = b"\xa0\x63" + payload[2:]
            if up:
                p.udp(CLIENT, sport, SERVER, 443, payload)
            else:
                p.udp(SERVER, 443, CLIENT, sport, payload)
    p.close()


def stream(path, seed, shape):
    r = random.Random(seed)
    p = Pcap(path)
    for i in range(12000):
        for src, sp, dst, dp in ((CLIENT, 40006, SERVER, 34570), (SERVER, 34570, CLIENT, 40006)):
            p.udp(src, sp, dst, dp, shape(r, i))
    p.close()


def random_payload(r, i):
    size = r.randrange(32, 600)
    while size in FORBIDDEN:
        size = r.randrange(32, 600)
    return rnd(r, size)


def constant_header(r, i):
    size = 92 if i % 50 == 0 else r.randrange(100, 600)
    return b"\x04\x00\x00\x00" + bytes([r.choice((1, 2, 3, 4))]) + rnd(r, size - 5)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    wireguard(os.path.join(out, "wireguard.pcap"))
    openvpn_fast(os.path.join(out, "openvpn_fast.pcap"))
    openvpn(os.path.join(out, "openvpn.pcap"))
    tls(os.path.join(out, "tls_noalpn.pcap"), None)
    tls(os.path.join(out, "tls_alpn.pcap"), [b"h2", b"http/1.1"])
    tlsintls(os.path.join(out, "tlsintls.pcap"))
    iphygiene(os.path.join(out, "iphygiene.pcap"))
    https(os.path.join(out, "https.pcap"))
    randflows(os.path.join(out, "randflows.pcap"))
    edge25(os.path.join(out, "edge25.pcap"))
    stream(os.path.join(out, "random.pcap"), 6, random_payload)
    stream(os.path.join(out, "constant.pcap"), 7, constant_header)


if __name__ == "__main__":
    main()
