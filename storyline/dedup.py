"""Exact and near-duplicate detection: normalised text hashes and MinHash LSH."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

import zlib

import numpy as np

from .models import UNSPACED

NUM_PERM = 64
BANDS = 16  # 16 bands x 4 rows: pairs at Jaccard 0.8 become candidates with p > 0.999
ROWS = NUM_PERM // BANDS
SHINGLE = 5
MIN_CHARS = 200  # shorter texts (titles, teasers) are too small to call duplicates
MAX_WORDS = 1000  # the opening 1,000 words decide whether two articles are copies

_PRIME = np.uint64((1 << 61) - 1)
_RNG = np.random.RandomState(1)
# Universal hashing h(x) = (a*x + b) mod p, fixed seeds so signatures are stable across runs.
# a and b span the prime's range; a*x wraps modulo 2^64 first, as in datasketch, which mixes well.
_A = _RNG.randint(1, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)
_B = _RNG.randint(0, (1 << 61) - 1, size=NUM_PERM, dtype=np.uint64)

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Fingerprint:
    """What dedup needs to know about one text."""

    text_hash: str | None
    signature: bytes | None
    bands: list[int]


def normalise(text: str) -> list[str]:
    """The text's words, lower-cased, without punctuation."""
    return _WORD.findall(text.lower())


def shingle_tokens(words: list[str]) -> list[str]:
    """The tokens shingles are made of: the words, with those in unspaced scripts cut into characters.

    A "word" of such a script is a whole clause, and one changed character would change every
    shingle it is in.
    """
    return [piece for w in words for piece in (list(w) if UNSPACED.search(w) else [w])]


def text_hash(words: list[str]) -> str:
    """A hash of the normalised words, equal for texts that differ only in spacing/punctuation/case."""
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()


def _band_hash(values: np.ndarray) -> int:
    """A signed 64-bit hash of one LSH band, storable in SQLite."""
    digest = hashlib.blake2b(values.tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def shingle_hashes(words: list[str]) -> np.ndarray:
    """32-bit hashes of the word 5-grams of a text (stable across processes, unlike hash())."""
    ids = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
    if len(ids) < SHINGLE:
        return np.unique(ids) if len(ids) else np.zeros(1, dtype=np.uint64)
    mixed = np.zeros(len(ids) - SHINGLE + 1, dtype=np.uint64)
    for k in range(SHINGLE):
        mixed = (mixed * np.uint64(1_000_003) + ids[k : len(ids) - SHINGLE + 1 + k]) & np.uint64(0xFFFFFFFF)
    return np.unique(mixed)


def minhash(hashes: np.ndarray) -> np.ndarray:
    """The MinHash signature (NUM_PERM minima of universal hashes) of a set of 32-bit hashes."""
    with np.errstate(over="ignore"):
        values = np.outer(_A, hashes)
        values += _B[:, None]
    return (_mod_prime(values)).min(axis=1) & np.uint64(0xFFFFFFFF)


def _mod_prime(x: np.ndarray) -> np.ndarray:
    """x mod (2^61 - 1), exactly, without a division: 2^61 is 1 modulo that prime, so the top bits add on.

    The same values as `x % _PRIME` at a fraction of the cost (a 64-bit division per element was most of a fingerprint's).
    """
    r = x & _PRIME
    r += x >> np.uint64(61)  # at most 7 + (2^61 - 2): below twice the prime
    r[r >= _PRIME] -= _PRIME
    return r


def fingerprint(text: str) -> Fingerprint:
    """The exact hash, MinHash signature and LSH bands of a text (None when it is too short)."""
    if len(text) < MIN_CHARS:
        return Fingerprint(None, None, [])
    words = normalise(text)
    if not words:  # only punctuation or emoji: nothing to compare, and every such text would hash alike
        return Fingerprint(None, None, [])
    tokens = shingle_tokens(words) if UNSPACED.search(text) else words  # one scan of the text, in C
    values = minhash(shingle_hashes(tokens[:MAX_WORDS]))
    bands = [_band_hash(values[i * ROWS : (i + 1) * ROWS]) for i in range(BANDS)]
    return Fingerprint(text_hash(words), values.tobytes(), bands)


@lru_cache(maxsize=8)  # asked once an article, of one threshold
def bands_needed(threshold: float) -> int:
    """The fewest LSH bands two signatures must share for `jaccard` to reach `threshold`.

    A band that differs differs in at least one of its ROWS values, so signatures sharing m whole bands
    agree in at most m * ROWS + (BANDS - m) * (ROWS - 1) values: a stored article sharing fewer bands
    can be passed over unread, and no pair that `jaccard` would accept is lost (0.8: 4 bands).
    """
    for m in range(1, BANDS + 1):
        if (m * ROWS + (BANDS - m) * (ROWS - 1)) / NUM_PERM >= threshold:  # as jaccard divides
            return m
    return BANDS


def jaccard(sig_a: bytes, sig_b: bytes) -> float:
    """The Jaccard similarity two MinHash signatures estimate."""
    a = np.frombuffer(sig_a, dtype=np.uint64)
    b = np.frombuffer(sig_b, dtype=np.uint64)
    return float(np.count_nonzero(a == b)) / len(a)
