#!/usr/bin/env python3
"""Independent check of the LostLove wire specification (docs/protocol.md).

Written only from docs/protocol.md and public standards (RFC 7748, RFC 8439,
RFC 5869, RFC 2104, FIPS 203, the Noise Protocol Framework), without reading
the project's C code. It re-implements what section 9 ("Worked example") needs
and compares every ```hex NAME``` block of that section with its own result:
the messages and keys, and every intermediate value of the handshake (ck, h
and k after each token, DH results, ML-KEM values, mac1), so the document
cannot drift. It then consumes the document's messages as the other side
would and checks the values met on the way against the same blocks.

ML-KEM-768 is implemented here in pure Python from FIPS 203 and is first
validated against the NIST ACVP vectors in the shared vectors directory.

Usage: verify_spec.py [path/to/protocol.md [path/to/vectors-dir]]
       verify_spec.py --print    (prints every block of section 9 as computed here)
Output: one line per check, "ok NAME" or "FAIL NAME: ...", then
"verify_spec: N passed, M failed". Exit status 0 only if nothing failed.
"""

import hashlib
import hmac
import os
import re
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives import serialization
from cryptography.exceptions import InvalidTag

# ---------------------------------------------------------------------------
# result bookkeeping

PASSED = 0
FAILED = 0


def ok(name):
    global PASSED
    PASSED += 1
    print("ok " + name)


def fail(name, why):
    global FAILED
    FAILED += 1
    print("FAIL %s: %s" % (name, why))


def check(name, cond, why=""):
    if cond:
        ok(name)
    else:
        fail(name, why or "mismatch")
    return cond


def first_diff(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return min(len(a), len(b))


def check_bytes(name, got, want):
    if got == want:
        ok(name)
        return True
    i = first_diff(got, want)
    fail(name, "got %d bytes, document has %d; first difference at byte %d "
         "(got %s..., want %s...)" % (len(got), len(want), i,
                                      got[i:i + 8].hex(), want[i:i + 8].hex()))
    return False


# ---------------------------------------------------------------------------
# FIPS 203 ML-KEM-768, pure Python

Q = 3329
N = 256
K = 3
ETA1 = 2
ETA2 = 2
DU = 10
DV = 4


def bitrev7(x):
    return int("{:07b}".format(x)[::-1], 2)


ZETAS = [pow(17, bitrev7(i), Q) for i in range(128)]
GAMMAS = [pow(17, 2 * bitrev7(i) + 1, Q) for i in range(128)]
INV128 = pow(128, -1, Q)  # 3303


def ntt(f):
    f = list(f)
    i = 1
    length = 128
    while length >= 2:
        for start in range(0, 256, 2 * length):
            zeta = ZETAS[i]
            i += 1
            for j in range(start, start + length):
                t = zeta * f[j + length] % Q
                f[j + length] = (f[j] - t) % Q
                f[j] = (f[j] + t) % Q
        length >>= 1
    return f


def ntt_inv(f):
    f = list(f)
    i = 127
    length = 2
    while length <= 128:
        for start in range(0, 256, 2 * length):
            zeta = ZETAS[i]
            i -= 1
            for j in range(start, start + length):
                t = f[j]
                f[j] = (t + f[j + length]) % Q
                f[j + length] = zeta * (f[j + length] - t) % Q
        length <<= 1
    return [x * INV128 % Q for x in f]


def mul_ntt(f, g):
    h = [0] * 256
    for i in range(128):
        a0, a1 = f[2 * i], f[2 * i + 1]
        b0, b1 = g[2 * i], g[2 * i + 1]
        h[2 * i] = (a0 * b0 + a1 * b1 * GAMMAS[i]) % Q
        h[2 * i + 1] = (a0 * b1 + a1 * b0) % Q
    return h


def padd(f, g):
    return [(a + b) % Q for a, b in zip(f, g)]


def psub(f, g):
    return [(a - b) % Q for a, b in zip(f, g)]


def byte_encode(f, d):
    bits = 0
    nbits = 0
    out = bytearray()
    for c in f:
        bits |= (c & ((1 << d) - 1)) << nbits
        nbits += d
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    return bytes(out)


def byte_decode(b, d):
    m = Q if d == 12 else (1 << d)
    val = int.from_bytes(b, "little")
    mask = (1 << d) - 1
    return [((val >> (d * i)) & mask) % m for i in range(256)]


def byte_decode_raw12(b):
    val = int.from_bytes(b, "little")
    return [(val >> (12 * i)) & 0xFFF for i in range(len(b) * 8 // 12)]


def compress(x, d):
    return ((x << d) + Q // 2) // Q % (1 << d)


def decompress(y, d):
    return (y * Q + (1 << (d - 1))) >> d


def G(x):
    h = hashlib.sha3_512(x).digest()
    return h[:32], h[32:]


def H(x):
    return hashlib.sha3_256(x).digest()


def J(x):
    return hashlib.shake_256(x).digest(32)


def prf(eta, s, b):
    return hashlib.shake_256(s + bytes([b])).digest(64 * eta)


def sample_ntt(seed):
    nbytes = 840
    while True:
        buf = hashlib.shake_128(seed).digest(nbytes)
        a = []
        pos = 0
        while len(a) < 256 and pos + 3 <= len(buf):
            c0, c1, c2 = buf[pos], buf[pos + 1], buf[pos + 2]
            pos += 3
            d1 = c0 + 256 * (c1 % 16)
            d2 = (c1 // 16) + 16 * c2
            if d1 < Q:
                a.append(d1)
            if d2 < Q and len(a) < 256:
                a.append(d2)
        if len(a) == 256:
            return a
        nbytes *= 2


def sample_cbd(b, eta):
    val = int.from_bytes(b, "little")
    f = []
    for i in range(256):
        x = 0
        y = 0
        for j in range(eta):
            x += (val >> (2 * i * eta + j)) & 1
            y += (val >> (2 * i * eta + eta + j)) & 1
        f.append((x - y) % Q)
    return f


def gen_matrix(rho):
    # A_hat[i][j] = SampleNTT(rho || j || i)
    return [[sample_ntt(rho + bytes([j, i])) for j in range(K)] for i in range(K)]


def pke_keygen(d):
    rho, sigma = G(d + bytes([K]))
    A = gen_matrix(rho)
    n = 0
    s = []
    for _ in range(K):
        s.append(sample_cbd(prf(ETA1, sigma, n), ETA1))
        n += 1
    e = []
    for _ in range(K):
        e.append(sample_cbd(prf(ETA1, sigma, n), ETA1))
        n += 1
    s_hat = [ntt(p) for p in s]
    e_hat = [ntt(p) for p in e]
    t_hat = []
    for i in range(K):
        acc = [0] * 256
        for j in range(K):
            acc = padd(acc, mul_ntt(A[i][j], s_hat[j]))
        t_hat.append(padd(acc, e_hat[i]))
    ek = b"".join(byte_encode(p, 12) for p in t_hat) + rho
    dk = b"".join(byte_encode(p, 12) for p in s_hat)
    return ek, dk


def pke_encrypt(ek, m, r):
    t_hat = [byte_decode(ek[384 * i:384 * (i + 1)], 12) for i in range(K)]
    rho = ek[384 * K:384 * K + 32]
    A = gen_matrix(rho)
    n = 0
    y = []
    for _ in range(K):
        y.append(sample_cbd(prf(ETA1, r, n), ETA1))
        n += 1
    e1 = []
    for _ in range(K):
        e1.append(sample_cbd(prf(ETA2, r, n), ETA2))
        n += 1
    e2 = sample_cbd(prf(ETA2, r, n), ETA2)
    y_hat = [ntt(p) for p in y]
    u = []
    for i in range(K):
        acc = [0] * 256
        for j in range(K):
            acc = padd(acc, mul_ntt(A[j][i], y_hat[j]))   # A^T
        u.append(padd(ntt_inv(acc), e1[i]))
    mu = [decompress(bit, 1) for bit in byte_decode(m, 1)]
    acc = [0] * 256
    for j in range(K):
        acc = padd(acc, mul_ntt(t_hat[j], y_hat[j]))
    v = padd(padd(ntt_inv(acc), e2), mu)
    c1 = b"".join(byte_encode([compress(x, DU) for x in p], DU) for p in u)
    c2 = byte_encode([compress(x, DV) for x in v], DV)
    return c1 + c2


def pke_decrypt(dk_pke, c):
    c1, c2 = c[:32 * DU * K], c[32 * DU * K:]
    u = [[decompress(x, DU) for x in byte_decode(c1[32 * DU * i:32 * DU * (i + 1)], DU)]
         for i in range(K)]
    v = [decompress(x, DV) for x in byte_decode(c2, DV)]
    s_hat = [byte_decode(dk_pke[384 * i:384 * (i + 1)], 12) for i in range(K)]
    acc = [0] * 256
    for i in range(K):
        acc = padd(acc, mul_ntt(s_hat[i], ntt(u[i])))
    w = psub(v, ntt_inv(acc))
    return byte_encode([compress(x, 1) for x in w], 1)


def mlkem_keygen_internal(d, z):
    ek, dk_pke = pke_keygen(d)
    dk = dk_pke + ek + H(ek) + z
    return ek, dk


def mlkem_encaps_internal(ek, m):
    Kk, r = G(m + H(ek))
    c = pke_encrypt(ek, m, r)
    return Kk, c


def mlkem_decaps(dk, c):
    if len(dk) != 768 * K + 96 or len(c) != 32 * (DU * K + DV):
        raise ValueError("ML-KEM decaps: bad length")
    dk_pke = dk[:384 * K]
    ek_pke = dk[384 * K:768 * K + 32]
    h = dk[768 * K + 32:768 * K + 64]
    z = dk[768 * K + 64:]
    m2 = pke_decrypt(dk_pke, c)
    K2, r2 = G(m2 + h)
    Kbar = J(z + c)
    c2 = pke_encrypt(ek_pke, m2, r2)
    return K2 if c2 == c else Kbar


def mlkem_ek_check(ek):
    """FIPS 203 section 7.2: type (length) check and modulus check."""
    if len(ek) != 384 * K + 32:
        return False
    coeffs = byte_decode_raw12(ek[:384 * K])
    return all(x < Q for x in coeffs)


def mlkem_dk_check(dk):
    """FIPS 203 section 7.3: length and hash check."""
    if len(dk) != 768 * K + 96:
        return False
    return H(dk[384 * K:768 * K + 32]) == dk[768 * K + 32:768 * K + 64]


# ---------------------------------------------------------------------------
# NIST vector self test

def read_cases(path):
    cases = []
    cur = {}
    with open(path, "r", encoding="ascii") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                if cur:
                    cases.append(cur)
                    cur = {}
                continue
            name, _, value = line.partition(" = ")
            cur[name] = value
    if cur:
        cases.append(cur)
    return cases


def unhex(s):
    return bytes.fromhex(s)


def mlkem_selftest(vecdir):
    d = os.path.join(vecdir, "ml-kem-768")
    if not os.path.isdir(d):
        d = vecdir
    files = {
        "keygen": "ml-kem-768-keygen.txt",
        "encap": "ml-kem-768-encap.txt",
        "decap": "ml-kem-768-decap.txt",
        "ekcheck": "ml-kem-768-ekcheck.txt",
        "ekcheck-modulus-derived": "ml-kem-768-ekcheck-modulus-derived.txt",
        "dkcheck": "ml-kem-768-dkcheck.txt",
    }
    all_ok = True
    for kind, fn in files.items():
        path = os.path.join(d, fn)
        name = "ml-kem-768 " + kind + " vectors"
        if not os.path.exists(path):
            fail(name, "missing file " + path)
            all_ok = False
            continue
        cases = read_cases(path)
        bad = []
        for c in cases:
            tag = "%s/%s" % (c.get("vs"), c.get("tcId"))
            if kind == "keygen":
                ek, dk = mlkem_keygen_internal(unhex(c["d"]), unhex(c["z"]))
                if ek != unhex(c["ek"]) or dk != unhex(c["dk"]):
                    bad.append(tag)
            elif kind == "encap":
                ek = unhex(c["ek"])
                Kk, ct = mlkem_encaps_internal(ek, unhex(c["m"]))
                if not mlkem_ek_check(ek) or Kk != unhex(c["k"]) or ct != unhex(c["c"]):
                    bad.append(tag)
            elif kind == "decap":
                dk = unhex(c["dk"])
                if mlkem_decaps(dk, unhex(c["c"])) != unhex(c["k"]):
                    bad.append(tag)
                if c.get("keyFormat") == "seed":
                    _, dk2 = mlkem_keygen_internal(unhex(c["d"]), unhex(c["z"]))
                    if dk2 != dk:
                        bad.append(tag + "(seed)")
            elif kind in ("ekcheck", "ekcheck-modulus-derived"):
                if mlkem_ek_check(unhex(c["ek"])) != (c["result"] == "pass"):
                    bad.append(tag)
            elif kind == "dkcheck":
                if mlkem_dk_check(unhex(c["dk"])) != (c["result"] == "pass"):
                    bad.append(tag)
        if not cases:
            fail(name, "no cases read from " + path)
            all_ok = False
        elif bad:
            fail(name, "%d of %d cases wrong: %s" % (len(bad), len(cases), ", ".join(bad)))
            all_ok = False
        else:
            ok("%s (%d cases)" % (name, len(cases)))
    return all_ok


# ---------------------------------------------------------------------------
# Protocol primitives (docs/protocol.md section 1)

def HASH(x):
    return hashlib.sha256(x).digest()


def HMAC(k, x):
    return hmac.new(k, x, hashlib.sha256).digest()


def hkdf_extract(salt, ikm):
    return HMAC(salt, ikm)


def hkdf_expand(prk, info, length):
    out = b""
    t = b""
    i = 1
    while len(out) < length:
        t = HMAC(prk, t + info + bytes([i]))
        out += t
        i += 1
    return out[:length]


def HKDF(ck, ikm, n):
    okm = hkdf_expand(hkdf_extract(ck, ikm), b"", 32 * n)
    return [okm[32 * i:32 * (i + 1)] for i in range(n)]


def nonce12(n):
    return b"\x00\x00\x00\x00" + struct.pack("<Q", n)


def AEAD(k, n, p, ad):
    return ChaCha20Poly1305(k).encrypt(nonce12(n), p, ad)


def AEAD_open(k, n, c, ad):
    return ChaCha20Poly1305(k).decrypt(nonce12(n), c, ad)


def MAC16(k, x):
    return HMAC(k, x)[:16]


def x25519_pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(priv, pub):
    out = X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(pub))
    if out == bytes(32):
        raise ValueError("low-order point")
    return out


def tai64n(sec, nsec):
    return struct.pack(">QI", (1 << 62) + 10 + sec, nsec)


CONSTRUCTION = b"LostLove_v1_IKpsk2_25519_MLKEM768_ChaChaPoly_SHA256"
IDENTIFIER = b"lostlove v1"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"


class Symmetric:
    """Noise symmetric state as in section 3.1."""

    def __init__(self, server_public):
        self.ck = HASH(CONSTRUCTION)
        self.h = HASH(self.ck + IDENTIFIER)
        self.h_identifier = self.h          # h0 before S_r is mixed in
        self.h = HASH(self.h + server_public)
        self.k = None
        self.n = 0

    def copy(self):
        s = Symmetric.__new__(Symmetric)
        s.ck, s.h, s.k, s.n = self.ck, self.h, self.k, self.n
        s.h_identifier = self.h_identifier
        return s

    def mix_hash(self, x):
        self.h = HASH(self.h + x)

    def mix_key(self, x):
        self.ck, self.k = HKDF(self.ck, x, 2)
        self.n = 0

    def mix_key_and_hash(self, x):
        self.ck, t, self.k = HKDF(self.ck, x, 3)
        self.mix_hash(t)
        self.n = 0
        return t

    def encrypt_and_hash(self, p):
        c = AEAD(self.k, self.n, p, self.h)
        self.n += 1
        self.mix_hash(c)
        return c

    def decrypt_and_hash(self, c):
        p = AEAD_open(self.k, self.n, c, self.h)
        self.n += 1
        self.mix_hash(c)
        return p


class DetRng:
    """Section 9: block i = HMAC(seed, "lostlove det rng" || LE64(i))."""

    def __init__(self, seed):
        self.seed = seed
        self.buf = b""
        self.block = 0

    def draw(self, n):
        while len(self.buf) < n:
            self.buf += HMAC(self.seed, b"lostlove det rng" + struct.pack("<Q", self.block))
            self.block += 1
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def header(msg_type, flags):
    return bytes([msg_type, flags, 0, 0])


def tlv(t, v):
    return bytes([t, len(v)]) + v


def ipv4_checksum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def icmp_echo_packet(src, dst, ident, seq, payload, ttl=64, ip_id=0, df=False):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", ipv4_checksum(icmp)) + icmp[4:]
    total = 20 + len(icmp)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ip_id, 0x4000 if df else 0,
                      ttl, 1, 0, bytes(src), bytes(dst))
    iph = iph[:10] + struct.pack("!H", ipv4_checksum(iph)) + iph[12:]
    return iph + icmp


def seal(mode, secret, counter, plaintext, hdr):
    k_aes = hkdf_expand(secret, b"lostlove aes256gcm", 32)
    k_chacha = hkdf_expand(secret, b"lostlove chacha20poly1305", 32)
    nn = nonce12(counter)
    if mode == 1:
        return AESGCM(k_aes).encrypt(nn, plaintext, hdr)
    if mode == 2:
        return ChaCha20Poly1305(k_chacha).encrypt(nn, plaintext, hdr)
    if mode == 3:
        inner = AESGCM(k_aes).encrypt(nn, plaintext, hdr)
        return ChaCha20Poly1305(k_chacha).encrypt(nn, inner, hdr)
    raise ValueError("mode")


def open_sealed(mode, secret, counter, sealed, hdr):
    k_aes = hkdf_expand(secret, b"lostlove aes256gcm", 32)
    k_chacha = hkdf_expand(secret, b"lostlove chacha20poly1305", 32)
    nn = nonce12(counter)
    if mode == 3:
        inner = ChaCha20Poly1305(k_chacha).decrypt(nn, sealed, hdr)
        return AESGCM(k_aes).decrypt(nn, inner, hdr)
    if mode == 2:
        return ChaCha20Poly1305(k_chacha).decrypt(nn, sealed, hdr)
    return AESGCM(k_aes).decrypt(nn, sealed, hdr)


# ---------------------------------------------------------------------------
# Reading the document

def read_hex_blocks(md_path):
    with open(md_path, "r", encoding="utf-8") as f:
        text = f.read()
    # Only section 9 ("Worked example") is of interest.
    m = re.search(r"^## 9\..*?(?=^## |\Z)", text, re.M | re.S)
    section = m.group(0) if m else text
    blocks = {}
    for bm in re.finditer(r"^```hex[ \t]+(\S+)[ \t]*\n(.*?)^```", section, re.M | re.S):
        blocks[bm.group(1)] = bytes.fromhex("".join(bm.group(2).split()))
    return blocks


# ---------------------------------------------------------------------------
# The worked example (section 9)

# Every ```hex block of section 9, in document order, with what it holds.
# build_example() computes each one from the inputs listed in section 9.
BLOCKS = [
    ("server-public", "S_r, X25519 public key of 32 x 0x11"),
    ("client-public", "S_i, X25519 public key of 32 x 0x22"),
    # message 1 (section 3.1, 3.2)
    ("ck0", "ck0 = HASH(CONSTRUCTION)"),
    ("h0-identifier", "HASH(ck0 || IDENTIFIER)"),
    ("h0", "h0 = HASH(HASH(ck0 || IDENTIFIER) || S_r)"),
    ("msg1-h-after-header", "h after MixHash(01 01 00 00)"),
    ("client-ephemeral-private", "e_i, client stream bytes 0..32"),
    ("client-ephemeral-public", "E_i = X25519 public key of e_i"),
    ("msg1-ck-after-e", "ck after MixHash(E_i); MixKey(E_i)"),
    ("msg1-h-after-e", "h after MixHash(E_i); MixKey(E_i)"),
    ("dh-es", "DH(e_i, S_r)"),
    ("msg1-ck-after-es", "ck after MixKey(DH(e_i, S_r))"),
    ("msg1-h-after-es", "h after es (unchanged)"),
    ("msg1-k-after-es", "k after es, encrypts S_i (n = 0)"),
    ("msg1-encrypted-static", "EncryptAndHash(S_i)"),
    ("msg1-ck-after-s", "ck after s (unchanged)"),
    ("msg1-h-after-s", "h after s"),
    ("dh-ss", "DH(s_i, S_r)"),
    ("msg1-ck-after-ss", "ck after MixKey(DH(s_i, S_r))"),
    ("msg1-h-after-ss", "h after ss (unchanged)"),
    ("msg1-k-after-ss", "k after ss, encrypts ek (n = 0) and the timestamp (n = 1)"),
    ("mlkem-d", "ML-KEM d, client stream bytes 32..64"),
    ("mlkem-z", "ML-KEM z, client stream bytes 64..96"),
    ("mlkem-ek", "ML-KEM-768 ek = KeyGen_internal(d, z)"),
    ("msg1-ck-after-ekem-pk", "ck after ekem_pk (unchanged)"),
    ("msg1-h-after-ekem-pk", "h after EncryptAndHash(ek)"),
    ("msg1-timestamp", "TAI64N of 1764000000 s, 0 ns"),
    ("msg1-encrypted-timestamp", "EncryptAndHash(TAI64N)"),
    ("msg1-ck-after-timestamp", "ck after {timestamp} (unchanged)"),
    ("msg1-h-after-timestamp", "h after {timestamp}"),
    ("mac1-key-server", "HASH(LABEL_MAC1 || S_r)"),
    ("msg1-mac1", "MAC16(mac1 key, message 1 bytes 0..1316)"),
    ("msg1", "message 1"),
    # message 2 (section 3.3)
    ("msg2-h-after-header", "h after MixHash(02 01 00 00)"),
    ("server-ephemeral-private", "e_r, server stream bytes 0..32"),
    ("server-ephemeral-public", "E_r = X25519 public key of e_r"),
    ("msg2-ck-after-e", "ck after MixHash(E_r); MixKey(E_r)"),
    ("msg2-h-after-e", "h after MixHash(E_r); MixKey(E_r)"),
    ("dh-ee", "DH(e_r, E_i)"),
    ("msg2-ck-after-ee", "ck after MixKey(DH(e_r, E_i))"),
    ("msg2-h-after-ee", "h after ee (unchanged)"),
    ("dh-se", "DH(e_r, S_i)"),
    ("msg2-ck-after-se", "ck after MixKey(DH(e_r, S_i))"),
    ("msg2-h-after-se", "h after se (unchanged)"),
    ("msg2-k-after-se", "k after se, encrypts ct (n = 0)"),
    ("mlkem-m", "ML-KEM m, server stream bytes 32..64"),
    ("mlkem-ct", "ML-KEM-768 ct of Encaps_internal(ek, m)"),
    ("mlkem-shared-secret", "ML-KEM-768 shared secret K of Encaps_internal(ek, m)"),
    ("msg2-ck-after-ekem-ct", "ck after ekem_ct (unchanged)"),
    ("msg2-h-after-ekem-ct", "h after EncryptAndHash(ct)"),
    ("msg2-ck-after-kem", "ck of MixKeyAndHash(K)"),
    ("msg2-t-kem", "t of MixKeyAndHash(K)"),
    ("msg2-k-after-kem", "k of MixKeyAndHash(K) (replaced by psk before use)"),
    ("msg2-h-after-kem", "h after MixKeyAndHash(K)"),
    ("msg2-ck-after-psk", "ck of MixKeyAndHash(psk)"),
    ("msg2-t-psk", "t of MixKeyAndHash(psk)"),
    ("msg2-k-after-psk", "k of MixKeyAndHash(psk), encrypts the parameters (n = 0)"),
    ("msg2-h-after-psk", "h after MixKeyAndHash(psk)"),
    ("msg2-params", "session parameter TLVs (section 5)"),
    ("msg2-encrypted-params", "EncryptAndHash(session parameters)"),
    ("msg2-ck-after-params", "ck after {params} (unchanged)"),
    ("msg2-h-after-params", "h after {params}"),
    ("mac1-key-client", "HASH(LABEL_MAC1 || S_i)"),
    ("msg2-mac1", "MAC16(mac1 key, message 2 bytes 0..len-32)"),
    ("msg2", "message 2"),
    # transport (section 3.4, 6)
    ("inner-packet", "inner ICMP echo request"),
    ("secret-i2r", "T_i2r = first output of HKDF(ck, empty, 2)"),
    ("secret-r2i", "T_r2i = second output of HKDF(ck, empty, 2)"),
    ("k-aes-i2r", "HKDF-Expand(T_i2r, \"lostlove aes256gcm\", 32)"),
    ("k-chacha-i2r", "HKDF-Expand(T_i2r, \"lostlove chacha20poly1305\", 32)"),
    ("k-aes-r2i", "HKDF-Expand(T_r2i, \"lostlove aes256gcm\", 32)"),
    ("k-chacha-r2i", "HKDF-Expand(T_r2i, \"lostlove chacha20poly1305\", 32)"),
    ("data1-aes-gcm", "inner layer AES-256-GCM(k_aes, N(0), P, H) of the cascade"),
    ("data1", "first data packet"),
]
BLOCK_NAMES = [name for name, _ in BLOCKS]
DESCRIPTION = dict(BLOCKS)

# the inputs of section 9
EX_SERVER_PRIV = bytes([0x11]) * 32
EX_CLIENT_PRIV = bytes([0x22]) * 32
EX_PSK = bytes([0x33]) * 32
EX_CLIENT_SEED = bytes([0x44]) * 32
EX_SERVER_SEED = bytes([0x55]) * 32
EX_NOW = 1764000000
EX_CLIENT_INDEX = 0x3c1e0001
EX_SERVER_INDEX = 0x5e7e0001


def example_params():
    return b"".join([
        tlv(0x01, bytes([3])),                                 # cipher: cascade
        tlv(0x02, bytes([10, 8, 0, 2, 24])),                   # 10.8.0.2/24
        tlv(0x03, bytes.fromhex("fd000008000000000000000000000002") + bytes([64])),
        tlv(0x04, bytes([10, 8, 0, 1])),                       # DNS 10.8.0.1
        tlv(0x06, struct.pack("<H", 1400)),                    # MTU
        tlv(0x07, struct.pack("<H", 25)),                      # keepalive
        tlv(0x08, struct.pack("<I", 600)),                     # rekey time
        tlv(0x09, struct.pack("<Q", 5000000)),                 # key update bytes
    ])


def snap(v, msg, token, st, key=False):
    """Records ck and h (and k) of st as MSG-ck-after-TOKEN etc."""
    v["%s-ck-after-%s" % (msg, token)] = st.ck
    v["%s-h-after-%s" % (msg, token)] = st.h
    if key:
        v["%s-k-after-%s" % (msg, token)] = st.k


def build_example():
    """Every value of section 9, computed from its inputs alone.

    Returns (v, ctx): v maps each name of BLOCKS to its bytes; ctx holds
    what the checks of the other side need (private keys, dk, the initiator's
    state after message 1)."""
    v = {}
    S_r = x25519_pub(EX_SERVER_PRIV)
    S_i = x25519_pub(EX_CLIENT_PRIV)
    v["server-public"] = S_r
    v["client-public"] = S_i

    # ---------------- message 1 (initiator) ----------------
    crng = DetRng(EX_CLIENT_SEED)
    e_i = crng.draw(32)
    d = crng.draw(32)
    z = crng.draw(32)
    st = Symmetric(S_r)
    v["ck0"] = st.ck
    v["h0-identifier"] = st.h_identifier
    v["h0"] = st.h
    hdr1 = header(1, 0x01)
    msg = bytearray(hdr1 + struct.pack("<I", EX_CLIENT_INDEX))
    st.mix_hash(hdr1)
    v["msg1-h-after-header"] = st.h
    # e
    E_i = x25519_pub(e_i)
    v["client-ephemeral-private"] = e_i
    v["client-ephemeral-public"] = E_i
    msg += E_i
    st.mix_hash(E_i)
    st.mix_key(E_i)
    snap(v, "msg1", "e", st)
    # es
    v["dh-es"] = DH(e_i, S_r)
    st.mix_key(v["dh-es"])
    snap(v, "msg1", "es", st, key=True)
    # s
    v["msg1-encrypted-static"] = st.encrypt_and_hash(S_i)
    msg += v["msg1-encrypted-static"]
    snap(v, "msg1", "s", st)
    # ss
    v["dh-ss"] = DH(EX_CLIENT_PRIV, S_r)
    st.mix_key(v["dh-ss"])
    snap(v, "msg1", "ss", st, key=True)
    # ekem_pk
    ek, dk = mlkem_keygen_internal(d, z)
    v["mlkem-d"] = d
    v["mlkem-z"] = z
    v["mlkem-ek"] = ek
    msg += st.encrypt_and_hash(ek)
    snap(v, "msg1", "ekem-pk", st)
    # {timestamp}
    v["msg1-timestamp"] = tai64n(EX_NOW, 0)
    v["msg1-encrypted-timestamp"] = st.encrypt_and_hash(v["msg1-timestamp"])
    msg += v["msg1-encrypted-timestamp"]
    snap(v, "msg1", "timestamp", st)
    # mac1, mac2 (no cookie held)
    v["mac1-key-server"] = HASH(LABEL_MAC1 + S_r)
    v["msg1-mac1"] = MAC16(v["mac1-key-server"], bytes(msg))
    msg += v["msg1-mac1"] + bytes(16)
    v["msg1"] = bytes(msg)
    state1 = st.copy()

    # ---------------- message 2 (responder) ----------------
    # The responder holds the same (ck, h) after consuming message 1; the
    # checks in worked_example() show that by consuming the document's bytes.
    srng = DetRng(EX_SERVER_SEED)
    e_r = srng.draw(32)
    m_kem = srng.draw(32)
    hdr2 = header(2, 0x01)
    msg = bytearray(hdr2 + struct.pack("<II", EX_SERVER_INDEX, EX_CLIENT_INDEX))
    st.mix_hash(hdr2)
    v["msg2-h-after-header"] = st.h
    # e
    E_r = x25519_pub(e_r)
    v["server-ephemeral-private"] = e_r
    v["server-ephemeral-public"] = E_r
    msg += E_r
    st.mix_hash(E_r)
    st.mix_key(E_r)
    snap(v, "msg2", "e", st)
    # ee
    v["dh-ee"] = DH(e_r, E_i)
    st.mix_key(v["dh-ee"])
    snap(v, "msg2", "ee", st)
    # se
    v["dh-se"] = DH(e_r, S_i)
    st.mix_key(v["dh-se"])
    snap(v, "msg2", "se", st, key=True)
    # ekem_ct
    K_enc, ct = mlkem_encaps_internal(ek, m_kem)
    v["mlkem-m"] = m_kem
    v["mlkem-ct"] = ct
    v["mlkem-shared-secret"] = K_enc
    msg += st.encrypt_and_hash(ct)
    snap(v, "msg2", "ekem-ct", st)
    # kem
    v["msg2-t-kem"] = st.mix_key_and_hash(K_enc)
    snap(v, "msg2", "kem", st, key=True)
    # psk
    v["msg2-t-psk"] = st.mix_key_and_hash(EX_PSK)
    snap(v, "msg2", "psk", st, key=True)
    # {params}
    v["msg2-params"] = example_params()
    v["msg2-encrypted-params"] = st.encrypt_and_hash(v["msg2-params"])
    msg += v["msg2-encrypted-params"]
    snap(v, "msg2", "params", st)
    # mac1, mac2 (always zero)
    v["mac1-key-client"] = HASH(LABEL_MAC1 + S_i)
    v["msg2-mac1"] = MAC16(v["mac1-key-client"], bytes(msg))
    msg += v["msg2-mac1"] + bytes(16)
    v["msg2"] = bytes(msg)

    # ---------------- session keys (3.4) and AEAD keys (6.2) ----------------
    v["secret-i2r"], v["secret-r2i"] = HKDF(st.ck, b"", 2)
    for direction in ("i2r", "r2i"):
        secret = v["secret-" + direction]
        v["k-aes-" + direction] = hkdf_expand(secret, b"lostlove aes256gcm", 32)
        v["k-chacha-" + direction] = hkdf_expand(secret, b"lostlove chacha20poly1305", 32)

    # ---------------- first data packet ----------------
    # §9 gives the IPv4 header fields (TOS 0, identification 1, DF, TTL 64)
    # and the whole packet as the inner-packet block.
    inner = icmp_echo_packet([10, 8, 0, 2], [10, 8, 0, 1], 1, 1, b"LostLove",
                             ttl=64, ip_id=1, df=True)
    v["inner-packet"] = inner
    plain = inner + bytes((-len(inner)) % 16)
    hdr = header(4, 0) + struct.pack("<I", EX_SERVER_INDEX) + struct.pack("<Q", 0)
    v["data1-aes-gcm"] = AESGCM(v["k-aes-i2r"]).encrypt(nonce12(0), plain, hdr)
    v["data1"] = hdr + seal(3, v["secret-i2r"], 0, plain, hdr)

    missing = set(BLOCK_NAMES) ^ set(v)
    if missing:
        raise AssertionError("BLOCKS and build_example disagree: %s" % sorted(missing))
    ctx = {"dk": dk, "e_i": e_i, "ek": ek, "K": K_enc, "state1": state1,
           "params": v["msg2-params"], "plain": plain}
    return v, ctx


def parse_params(p):
    """Section 5 TLV parser (only what is needed to check the example)."""
    out = {}
    i = 0
    while i < len(p):
        if i + 2 > len(p):
            raise ValueError("truncated TLV")
        t, ln = p[i], p[i + 1]
        v = p[i + 2:i + 2 + ln]
        if len(v) != ln:
            raise ValueError("truncated TLV value")
        out.setdefault(t, []).append(v)
        i += 2 + ln
    return out


def check_value(label, name, got, want):
    return check_bytes("%s%s (%s)" % (label, name, DESCRIPTION[name]), got, want)


def check_recorded(label, rec, blocks):
    """Compares the values one side recorded while consuming the document's
    bytes with the document's blocks of the same names (those it has)."""
    for name in BLOCK_NAMES:
        if name in rec and name in blocks:
            check_value(label, name, rec[name], blocks[name])


def consume_msg1(want, S_r, S_i):
    """Responder side: processes the document's message 1 (section 3.2)."""
    rec = {}
    m1 = want["msg1"]
    if len(m1) != 1348 or m1[0] != 1 or m1[1] & ~1 or m1[2:4] != b"\0\0":
        raise ValueError("bad header/length")
    rec["mac1-key-server"] = HASH(LABEL_MAC1 + S_r)
    if MAC16(rec["mac1-key-server"], m1[:-32]) != m1[-32:-16]:
        raise ValueError("mac1 does not verify")
    if m1[-16:] != bytes(16):
        raise ValueError("mac2 not zero")
    rs = Symmetric(S_r)
    rec["ck0"], rec["h0-identifier"], rec["h0"] = rs.ck, rs.h_identifier, rs.h
    rs.mix_hash(m1[0:4])
    rec["msg1-h-after-header"] = rs.h
    peer_index = struct.unpack("<I", m1[4:8])[0]
    rE_i = m1[8:40]
    rec["client-ephemeral-public"] = rE_i
    rs.mix_hash(rE_i)
    rs.mix_key(rE_i)
    snap(rec, "msg1", "e", rs)
    rec["dh-es"] = DH(EX_SERVER_PRIV, rE_i)
    rs.mix_key(rec["dh-es"])
    snap(rec, "msg1", "es", rs, key=True)
    rS_i = rs.decrypt_and_hash(m1[40:88])
    rec["client-public"] = rS_i
    snap(rec, "msg1", "s", rs)
    if rS_i != S_i:
        raise ValueError("decrypted static key is not the client's")
    rec["dh-ss"] = DH(EX_SERVER_PRIV, rS_i)
    rs.mix_key(rec["dh-ss"])
    snap(rec, "msg1", "ss", rs, key=True)
    srv_ek = rs.decrypt_and_hash(m1[88:1288])
    rec["mlkem-ek"] = srv_ek
    snap(rec, "msg1", "ekem-pk", rs)
    if not mlkem_ek_check(srv_ek):
        raise ValueError("ek fails FIPS 203 7.2 check")
    rts = rs.decrypt_and_hash(m1[1288:1316])
    rec["msg1-timestamp"] = rts
    snap(rec, "msg1", "timestamp", rs)
    secs = struct.unpack(">Q", rts[:8])[0] - (1 << 62) - 10
    nsec = struct.unpack(">I", rts[8:])[0]
    return rec, rs, peer_index, (secs, nsec)


def consume_msg2(want, state1, e_i, dk):
    """Initiator side: processes the document's message 2 (section 3.3)."""
    rec = {}
    m2 = want["msg2"]
    if m2[0] != 2 or m2[1] & ~1 or m2[2:4] != b"\0\0":
        raise ValueError("bad header")
    S_i = x25519_pub(EX_CLIENT_PRIV)
    rec["mac1-key-client"] = HASH(LABEL_MAC1 + S_i)
    if MAC16(rec["mac1-key-client"], m2[:-32]) != m2[-32:-16]:
        raise ValueError("mac1 does not verify")
    if m2[-16:] != bytes(16):
        raise ValueError("mac2 not zero")
    if struct.unpack("<I", m2[8:12])[0] != EX_CLIENT_INDEX:
        raise ValueError("receiver index is not I_i")
    cs = state1.copy()
    cs.mix_hash(m2[0:4])
    rec["msg2-h-after-header"] = cs.h
    rE_r = m2[12:44]
    rec["server-ephemeral-public"] = rE_r
    cs.mix_hash(rE_r)
    cs.mix_key(rE_r)
    snap(rec, "msg2", "e", cs)
    rec["dh-ee"] = DH(e_i, rE_r)
    cs.mix_key(rec["dh-ee"])
    snap(rec, "msg2", "ee", cs)
    rec["dh-se"] = DH(EX_CLIENT_PRIV, rE_r)
    cs.mix_key(rec["dh-se"])
    snap(rec, "msg2", "se", cs, key=True)
    rct = cs.decrypt_and_hash(m2[44:1148])
    rec["mlkem-ct"] = rct
    snap(rec, "msg2", "ekem-ct", cs)
    rec["mlkem-shared-secret"] = mlkem_decaps(dk, rct)
    rec["msg2-t-kem"] = cs.mix_key_and_hash(rec["mlkem-shared-secret"])
    snap(rec, "msg2", "kem", cs, key=True)
    rec["msg2-t-psk"] = cs.mix_key_and_hash(EX_PSK)
    snap(rec, "msg2", "psk", cs, key=True)
    rparams = cs.decrypt_and_hash(m2[1148:-32])
    rec["msg2-params"] = rparams
    snap(rec, "msg2", "params", cs)
    rec["secret-i2r"], rec["secret-r2i"] = HKDF(cs.ck, b"", 2)
    return rec, rparams, struct.unpack("<I", m2[4:8])[0]


def worked_example(blocks):
    want = {}
    for name in BLOCK_NAMES:
        if name not in blocks:
            fail("block " + name, "no ```hex %s``` block in section 9" % name)
        want[name] = blocks.get(name, b"")
    extra = sorted(set(blocks) - set(BLOCK_NAMES))
    if extra:
        fail("blocks", "unexpected hex blocks in section 9: " + ", ".join(extra))
    listed = [name for name in blocks if name in DESCRIPTION]
    check("section 9 lists the blocks in the order they are computed",
          listed == [name for name in BLOCK_NAMES if name in blocks],
          "document order: " + ", ".join(listed))

    # Every value, computed from the inputs alone, against the document.
    v, ctx = build_example()
    check("msg1 length", len(v["msg1"]) == 1348, "built %d bytes, §2.1 says 1348" % len(v["msg1"]))
    check("msg2 length",
          len(v["msg2"]) == 44 + 1104 + len(ctx["params"]) + 16 + 32 and len(v["msg2"]) <= 1348,
          "built %d bytes" % len(v["msg2"]))
    check("msg2-params length", len(v["msg2-params"]) == 59,
          "built %d bytes, §9 says 59" % len(v["msg2-params"]))
    check("data1 inner packet is 36 bytes", len(v["inner-packet"]) == 36,
          "%d" % len(v["inner-packet"]))
    for name in BLOCK_NAMES:
        if name in blocks:
            check_value("", name, v[name], want[name])
    S_r, S_i = v["server-public"], v["client-public"]

    # ---------------- message 1 (responder side) ----------------
    # Consumes the document's bytes and compares every value it meets on
    # the way with the document's blocks.
    try:
        rec, rs, peer_index, ts = consume_msg1(want, S_r, S_i)
        check_recorded("msg1 responder: ", rec, blocks)
        check("msg1 responder: sender index", peer_index == EX_CLIENT_INDEX,
              "index %#x" % peer_index)
        check("msg1 responder: timestamp", ts == (EX_NOW, 0),
              "decoded %d s %d ns, §9 says %d s 0 ns" % (ts[0], ts[1], EX_NOW))
        check("msg1 responder: ek equals KeyGen_internal(d, z)", rec["mlkem-ek"] == ctx["ek"])
        check("msg1 both sides agree on (ck, h)",
              (rs.ck, rs.h) == (ctx["state1"].ck, ctx["state1"].h))
    except (InvalidTag, ValueError) as exc:
        fail("msg1 responder", "%s: %s" % (type(exc).__name__, exc or "authentication tag did not verify"))

    # ---------------- message 2 (initiator side) ----------------
    mode = None
    try:
        rec, rparams, server_index = consume_msg2(want, ctx["state1"], ctx["e_i"], ctx["dk"])
        check_recorded("msg2 initiator: ", rec, blocks)
        check("msg2 initiator: ML-KEM Decaps(dk, ct) equals Encaps key",
              rec["mlkem-shared-secret"] == ctx["K"])
        check("msg2 initiator: server index", server_index == EX_SERVER_INDEX)
        pp = parse_params(rparams)
        expect = {
            1: [b"\x03"], 2: [bytes([10, 8, 0, 2, 24])],
            3: [bytes.fromhex("fd000008000000000000000000000002") + b"\x40"],
            4: [bytes([10, 8, 0, 1])], 6: [struct.pack("<H", 1400)],
            7: [struct.pack("<H", 25)], 8: [struct.pack("<I", 600)],
            9: [struct.pack("<Q", 5000000)],
        }
        check("msg2 initiator: session parameters decode to the §9 values", pp == expect,
              "decoded %r" % {t: [x.hex() for x in vals] for t, vals in pp.items()})
        mode = pp.get(1, [b"\0"])[0][0]
        check("msg2 initiator: traffic secrets match responder",
              (rec["secret-i2r"], rec["secret-r2i"]) == (v["secret-i2r"], v["secret-r2i"]))
    except (InvalidTag, ValueError) as exc:
        fail("msg2 initiator", "%s: %s" % (type(exc).__name__, exc or "authentication tag did not verify"))

    # ---------------- first data packet (responder opens it) ----------------
    try:
        d1 = want["data1"]
        rh = d1[:16]
        if rh[0] != 4 or rh[1] != 0 or rh[2:4] != b"\0\0":
            raise ValueError("bad header")
        if struct.unpack("<I", rh[4:8])[0] != EX_SERVER_INDEX:
            raise ValueError("receiver index is not I_r")
        ctr = struct.unpack("<Q", rh[8:16])[0]
        inner_ct = ChaCha20Poly1305(v["k-chacha-i2r"]).decrypt(nonce12(ctr), d1[16:], rh)
        check_recorded("data1 responder: outer layer opens to ", {"data1-aes-gcm": inner_ct},
                       blocks)
        p = open_sealed(mode or 3, v["secret-i2r"], ctr, d1[16:], rh)
        if p[0] >> 4 != 4:
            raise ValueError("plaintext is not IPv4")
        tot = struct.unpack("!H", p[2:4])[0]
        if tot > len(p) or any(p[tot:]):
            raise ValueError("bad length / nonzero padding")
        ok("data1 responder: opens under T_i2r (cascade mode)")
        ip = p[:tot]
        icmp = ip[20:]
        fields_ok = (tot == 36 and len(p) == 48 and ip[0] == 0x45 and ip[9] == 1
                     and ipv4_checksum(ip[:20]) == 0
                     and ip[12:16] == bytes([10, 8, 0, 2]) and ip[16:20] == bytes([10, 8, 0, 1])
                     and icmp[0] == 8 and icmp[1] == 0 and ipv4_checksum(icmp) == 0
                     and struct.unpack("!HH", icmp[4:8]) == (1, 1) and icmp[8:] == b"LostLove")
        check("data1 responder: plaintext is the §9 ICMP echo request padded to 48",
              fields_ok, "plaintext %s" % p.hex())
        check("data1 responder: IPv4 header fields not given in §9 are as guessed "
              "(TOS 0, id 1, DF, TTL 64)", ip[:20] == ctx["plain"][:20],
              "document has IPv4 header %s, guessed %s" % (ip[:20].hex(), ctx["plain"][:20].hex()))
    except (InvalidTag, ValueError) as exc:
        fail("data1 responder", "%s: %s" % (type(exc).__name__, exc or "authentication tag did not verify"))


# ---------------------------------------------------------------------------
# Stealth framing (section 12), its worked example (12.7)

def read_section_blocks(md_path, number):
    with open(md_path, "r", encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## %d\..*?(?=^## |\Z)" % number, text, re.M | re.S)
    blocks = {}
    for bm in re.finditer(r"^```hex[ \t]+(\S+)[ \t]*\n(.*?)^```", m.group(0) if m else "",
                          re.M | re.S):
        blocks[bm.group(1)] = bytes.fromhex("".join(bm.group(2).split()))
    return blocks


def chacha20_xor(key, nonce12, data):
    # RFC 8439 ChaCha20, initial block counter 0 (the library's 16-byte
    # nonce is the little-endian counter followed by the 96-bit nonce)
    enc = Cipher(algorithms.ChaCha20(key, b"\0\0\0\0" + nonce12), mode=None).encryptor()
    return enc.update(data)


def aes128_block(key, block):
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(block)


def stealth_example(md_path, ex):
    """Section 12.7 from section 12's text and section 9's values. (Added
    with the stealth framing, by its author: a second implementation from
    the text, not an outsider's.)"""
    st = read_section_blocks(md_path, 12)
    for name in ("stealth-k-hs", "stealth-k-hp", "stealth-k-dir-i2r", "stealth-nonce",
                 "stealth-padding", "stealth-msg1", "stealth-mask-a", "stealth-mask-b",
                 "stealth-data1"):
        if name not in st:
            fail(name, "no such block in section 12")
            return
    S, msg1, data1, t_i2r = ex["server-public"], ex["msg1"], ex["data1"], ex["secret-i2r"]
    k_hs = HASH(b"stealth-hs" + S)
    k_hp = HASH(b"stealth-hp" + S)[:16]
    k_dir = hkdf_expand(t_i2r, b"lostlove stealth hp", 16)
    check_bytes("stealth-k-hs", k_hs, st["stealth-k-hs"])
    check_bytes("stealth-k-hp", k_hp, st["stealth-k-hp"])
    check_bytes("stealth-k-dir-i2r", k_dir, st["stealth-k-dir-i2r"])
    n, p = st["stealth-nonce"], st["stealth-padding"]
    frame = n + chacha20_xor(k_hs, n[4:16], struct.pack("<H", len(msg1)) + msg1) + p
    check_bytes("stealth-msg1", frame, st["stealth-msg1"])
    # the receiver's side: the length first, then the message
    got = st["stealth-msg1"]
    plain = chacha20_xor(k_hs, got[4:16], got[16:])
    length = struct.unpack("<H", plain[:2])[0]
    check("stealth-msg1 unmasked", 0 < length <= len(got) - 18 and plain[2:2 + length] == msg1,
          "the framed message does not unmask to msg1")
    sample = data1[16:32]
    mask_a, mask_b = aes128_block(k_hp, sample), aes128_block(k_dir, sample)
    check_bytes("stealth-mask-a", mask_a, st["stealth-mask-a"])
    check_bytes("stealth-mask-b", mask_b, st["stealth-mask-b"])
    masked = (bytes(x ^ y for x, y in zip(data1[:8], mask_a[:8])) +
              bytes(x ^ y for x, y in zip(data1[8:16], mask_b[:8])) + data1[16:])
    check_bytes("stealth-data1", masked, st["stealth-data1"])
    hdr = bytes(x ^ y for x, y in zip(st["stealth-data1"][:8],
                                      aes128_block(k_hp, st["stealth-data1"][16:32])[:8]))
    check("stealth-data1 classified", hdr[0] == 4 and hdr[1] & 0xfe == 0 and hdr[2:4] == b"\0\0",
          "bytes 0..7 do not unmask to a transport header: %s" % hdr.hex())


def print_blocks():
    """--print: every block of section 9 as this implementation computes it."""
    v, _ = build_example()
    for name, what in BLOCKS:
        b = v[name]
        print("%s (%d bytes):\n\n```hex %s" % (what, len(b), name))
        for off in range(0, len(b), 32):
            print(b[off:off + 32].hex())
        print("```\n")


def main(argv):
    if len(argv) > 1 and argv[1] == "--print":
        print_blocks()
        return 0
    here = os.path.dirname(os.path.abspath(__file__))
    md = argv[1] if len(argv) > 1 else os.path.join(here, "..", "..", "docs", "protocol.md")
    vec = argv[2] if len(argv) > 2 else os.path.join(here, "..", "..", "..", "shared", "vectors")
    try:
        blocks = read_hex_blocks(md)
    except (OSError, ValueError) as exc:
        fail("read " + md, str(exc))
        blocks = None
    if mlkem_selftest(vec) and blocks is not None:
        worked_example(blocks)
        stealth_example(md, blocks)
    elif blocks is not None:
        fail("worked example", "skipped: the ML-KEM implementation failed its vectors")
    print("verify_spec: %d passed, %d failed" % (PASSED, FAILED))
    return 0 if FAILED == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
