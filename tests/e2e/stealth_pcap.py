#!/usr/bin/env python3
"""Checks a tcpdump capture of stealth traffic (tests/e2e/stealth.sh).

Usage: stealth_pcap.py PCAP SERVER_IP SERVER_PORT MODE

Reads the classic pcap tcpdump writes (Ethernet or Linux cooked), takes
the UDP datagrams to and from SERVER_IP:SERVER_PORT (IPv4, unfragmented
or first fragments), and fails (exit 1, one line per problem) if
- any UDP payload has a forbidden size (64, 80, 92, 112, 148);
- any payload starts like a plain LostLove header (type 1-4, flags <= 1,
  reserved 0): the masking did not happen;
- the server sent anything before the client's first message 1, i.e.
  before a client datagram of a message 1's size (1366..1452 bytes with
  ML-KEM; junk in maximum mode is at most 1200 bytes).
Prints a summary line."""
import struct
import sys

FORBIDDEN = {64, 80, 92, 112, 148}


def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    linktype = struct.unpack(endian + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:
            if len(frame) < 14 or frame[12:14] != b'\x08\x00':
                continue
            ip = frame[14:]
        elif linktype == 113:
            if len(frame) < 16 or frame[14:16] != b'\x08\x00':
                continue
            ip = frame[16:]
        elif linktype == 276:
            if len(frame) < 20 or frame[0:2] != b'\x08\x00':
                continue
            ip = frame[20:]
        else:
            sys.exit(f'unknown link type {linktype}')
        yield ip


def main():
    path, server_ip, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sip = bytes(int(x) for x in server_ip.split('.'))
    problems = []
    seen_init = False
    n = {'c2s': 0, 's2c': 0}
    sizes = set()
    for ip in packets(path):
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        frag = struct.unpack('>H', ip[6:8])[0] & 0x1fff
        if frag:
            continue  # later fragments carry no UDP header
        hl = (ip[0] & 0x0f) * 4
        src, dst = ip[12:16], ip[16:20]
        sport, dport, ulen = struct.unpack('>HHH', ip[hl:hl + 6])
        payload_len = ulen - 8
        payload = ip[hl + 8:hl + 8 + min(payload_len, 4)]
        if dst == sip and dport == port:
            way = 'c2s'
        elif src == sip and sport == port:
            way = 's2c'
        else:
            continue
        n[way] += 1
        sizes.add(payload_len)
        if payload_len in FORBIDDEN:
            problems.append(f'{way} datagram of forbidden size {payload_len}')
        if len(payload) == 4 and 1 <= payload[0] <= 4 and payload[1] <= 1 and payload[2:4] == b'\0\0':
            problems.append(f'{way} datagram of {payload_len} bytes starts like a plain header: {payload.hex()}')
        if way == "c2s" and 1366 <= payload_len <= 1452:
            seen_init = True
        if way == 's2c' and not seen_init:
            problems.append(f'the server sent {payload_len} bytes before any message 1')
    print(f'capture: {n["c2s"]} datagrams to the server, {n["s2c"]} from it, '
          f'{len(sizes)} distinct sizes, mode {mode}')
    if n['c2s'] == 0 or n['s2c'] == 0:
        problems.append('the capture holds no traffic in one direction')
    for p in problems[:20]:
        print('PROBLEM:', p)
    sys.exit(1 if problems else 0)


main()
