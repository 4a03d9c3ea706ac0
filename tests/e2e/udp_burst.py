#!/usr/bin/env python3
"""UDP datagrams whose every byte can be checked (tests/e2e/tun_offload.sh).

  udp_burst.py send HOST PORT COUNT SIZE [gso]
                                           COUNT datagrams of SIZE bytes, as fast
                                           as the socket takes them; with gso,
                                           16 at a time in one send (UDP_SEGMENT:
                                           the kernel keeps them one super-packet
                                           as far as a device with USO)
  udp_burst.py recv BIND PORT COUNT SIZE   until COUNT arrived or 3 s of silence;
                                           prints "intact N bad N"; exit status 1
                                           when any datagram is not one that was
                                           sent (a wrong length: merged or cut)

Datagram i is the 4-byte big-endian i, then SIZE - 4 bytes derived from i.
"""
import socket
import struct
import sys


def body(i, size):
    seed = (i * 2654435761) & 0xFFFFFFFF
    pat = bytes(((seed >> (8 * (k % 4))) + k) & 0xFF for k in range(size - 4))
    return struct.pack(">I", i) + pat


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


UDP_SEGMENT = 103  # linux/udp.h


def send(host, port, count, size, gso):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    s.connect((host, port))
    step = 16 if gso else 1
    if gso:
        s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, size)
    for i in range(0, count, step):
        s.send(b"".join(body(j, size) for j in range(i, min(i + step, count))))


def recv(host, port, count, size):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((host, port))
    print("listening", flush=True)
    s.settimeout(3)
    intact = bad = 0
    seen = set()
    while intact + bad < count:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if len(d) == size and d == body(struct.unpack(">I", d[:4])[0], size):
            i = struct.unpack(">I", d[:4])[0]
            if i in seen:
                bad += 1
            seen.add(i)
            intact += 1
        else:
            bad += 1
    print(f"intact {intact} bad {bad}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    op, host, port, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    if op == "send":
        send(host, port, count, size, len(sys.argv) > 6 and sys.argv[6] == "gso")
    else:
        sys.exit(recv(host, port, count, size))
