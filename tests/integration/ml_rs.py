"""Reed–Solomon erasure code of Moonlight video FEC, in pure Python, written
from the math (not from lobbyd's C): GF(2^8) = GF(2)[x] / (x^8+x^4+x^3+x^2+1)
(0x11D); a systematic code whose m parity shards are
parity[j] = sum_i P[j][i] * data[i] with the Cauchy matrix
P[j][i] = 1 / ((m + i) XOR j) (nanors' reed_solomon_new, which
moonlight-common-c decodes with). Slow and plain on purpose: it is the
independent reference the C encoder is checked against."""

POLY = 0x11D


def gf_mul(a, b):
    """Carry-less (shift-and-add) multiplication, reduced by POLY."""
    r = 0
    while b:
        if b & 1:
            r ^= a
        b >>= 1
        a <<= 1
        if a & 0x100:
            a ^= POLY
    return r


def gf_pow(a, n):
    r = 1
    while n:
        if n & 1:
            r = gf_mul(r, a)
        a = gf_mul(a, a)
        n >>= 1
    return r


def gf_inv(a):
    """a^254 = a^-1 in the multiplicative group of order 255; 0 for 0."""
    return gf_pow(a, 254) if a else 0


# Multiplication table, built from gf_mul, to keep shard loops bearable.
MUL = [[gf_mul(a, b) for b in range(256)] for a in range(256)]


def coefficient(m, j, i):
    return gf_inv((m + i) ^ j)


def matrix(k, m):
    return [[coefficient(m, j, i) for i in range(k)] for j in range(m)]


def encode(data, m):
    """data: list of k equal-length bytes; returns m parity bytes objects."""
    k = len(data)
    size = len(data[0])
    out = []
    for j in range(m):
        acc = bytearray(size)
        for i in range(k):
            row = MUL[coefficient(m, j, i)]
            d = data[i]
            for b in range(size):
                acc[b] ^= row[d[b]]
        out.append(bytes(acc))
    return out


def _solve(rows, k):
    """Inverse of the k×k matrix rows (lists) by Gauss–Jordan over GF(2^8)."""
    a = [list(r) + [1 if c == i else 0 for c in range(k)] for i, r in enumerate(rows)]
    for col in range(k):
        piv = next(r for r in range(col, k) if a[r][col])
        a[col], a[piv] = a[piv], a[col]
        s = gf_inv(a[col][col])
        a[col] = [MUL[s][v] for v in a[col]]
        for r in range(k):
            f = a[r][col]
            if r != col and f:
                a[r] = [v ^ MUL[f][w] for v, w in zip(a[r], a[col])]
    return [r[k:] for r in a]


def decode(shards, k, m):
    """shards: k + m entries, bytes or None for a lost one (at most m lost).
    Returns the k data shards."""
    have = [s for s in range(k + m) if shards[s] is not None][:k]
    if len(have) < k:
        raise ValueError("%d shards left, %d needed" % (len(have), k))
    if all(s < k for s in have):
        return [shards[i] for i in range(k)]
    rows = []
    for s in have:
        rows.append([1 if c == s else 0 for c in range(k)] if s < k
                    else [coefficient(m, s - k, c) for c in range(k)])
    inv = _solve(rows, k)
    size = len(shards[have[0]])
    data = []
    for i in range(k):
        if shards[i] is not None:
            data.append(shards[i])
            continue
        acc = bytearray(size)
        for r, s in enumerate(have):
            row = MUL[inv[i][r]]
            src = shards[s]
            for b in range(size):
                acc[b] ^= row[src[b]]
        data.append(bytes(acc))
    return data
