"""Exact and near-duplicate detection: normalised text hashes and MinHash LSH."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

NUM_PERM = 64
BANDS = 16  # 16 bands x 4 rows: pairs at Jaccard 0.8 become candidates with p > 0.999
ROWS = NUM_PERM // BANDS
SHINGLE = 5
MIN_CHARS = 200  # shorter texts (titles, teasers) are too small to call duplicates

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


def text_hash(words: list[str]) -> str:
    """A hash of the normalised words, equal for texts that differ only in spacing/punctuation/case."""
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()


def _band_hash(values: np.ndarray) -> int:
    """A signed 64-bit hash of one LSH band, storable in SQLite."""
    digest = hashlib.blake2b(values.tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def fingerprint(text: str) -> Fingerprint:
    """The exact hash, MinHash signature and LSH bands of a text (None when it is too short)."""
    if len(text) < MIN_CHARS:
        return Fingerprint(None, None, [])
    words = normalise(text)
    shingles = {" ".join(words[i : i + SHINGLE]).encode("utf-8") for i in range(max(1, len(words) - SHINGLE + 1))}
    mh = MinHash(num_perm=NUM_PERM, seed=1)
    mh.update_batch(list(shingles))
    values = mh.hashvalues.astype(np.uint64)
    bands = [_band_hash(values[i * ROWS : (i + 1) * ROWS]) for i in range(BANDS)]
    return Fingerprint(text_hash(words), values.tobytes(), bands)


def jaccard(sig_a: bytes, sig_b: bytes) -> float:
    """The Jaccard similarity two MinHash signatures estimate."""
    a = np.frombuffer(sig_a, dtype=np.uint64)
    b = np.frombuffer(sig_b, dtype=np.uint64)
    return float(np.count_nonzero(a == b)) / len(a)
