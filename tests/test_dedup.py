"""Exact and near-duplicate fingerprints."""

import numpy as np
import pytest

from storyline import dedup
from storyline.dedup import MIN_CHARS, fingerprint, jaccard

BASE = (
    "The river ferry between the two old towns stopped running on Monday after its engine failed "
    "in the middle of the crossing. Forty passengers waited for two hours before a tug pulled the "
    "boat back to the northern landing. The operator said repairs would take at least a week and "
    "that a replacement bus would run every half hour. Local shops on the southern bank said they "
    "expected to lose most of their weekend trade while the service is suspended."
)


def test_spacing_case_and_punctuation_do_not_change_the_exact_hash():
    noisy = BASE.upper().replace(". ", " .  ")
    assert fingerprint(BASE).text_hash == fingerprint(noisy).text_hash


def test_different_texts_have_different_hashes_and_low_similarity():
    other = BASE.replace("ferry", "tram").replace("crossing", "route").replace("tug", "crane")
    other = " ".join(reversed(other.split()))
    a, b = fingerprint(BASE), fingerprint(other)
    assert a.text_hash != b.text_hash
    assert jaccard(a.signature, b.signature) < 0.3


def test_a_wire_copy_with_an_added_line_is_near_and_shares_a_band():
    copy = BASE + " Reporting by a wire agency; editing by the desk."
    a, b = fingerprint(BASE), fingerprint(copy)
    assert a.text_hash != b.text_hash
    assert jaccard(a.signature, b.signature) >= 0.7
    assert set(a.bands) & set(b.bands)


def test_short_texts_are_not_fingerprinted():
    fp = fingerprint("x" * (MIN_CHARS - 1))
    assert fp.text_hash is None and fp.bands == []


def test_texts_without_words_are_not_copies_of_each_other():
    stars, arrows = "★ ☆ ✦ " * (MIN_CHARS // 4), "→ ← ↑ ↓ … " * (MIN_CHARS // 6)
    assert fingerprint(stars).text_hash is None and fingerprint(arrows).text_hash is None
    assert fingerprint(stars).bands == []


HARBOUR_JA = (
    "港湾局は火曜日、古いフェリー桟橋を二年間閉鎖すると発表した。技術者の調査で、木製の杭の多くが腐っていることが分かった。"
    "桟橋は平日の朝に約四百人の通勤客を運んでおり、町から二十キロ以内にほかの渡し場はない。"
    "港湾局によると、魚市場の隣に仮の乗り場を設け、天候が許せば春の終わりまでに最初の船が使えるようになる。"
    "住民は修理の日程を文書で示すよう求め、運賃を上げないよう訴えた。通勤客は新しい時刻表を待っている。"
)


def test_a_japanese_wire_copy_with_two_edits_is_near_though_its_clauses_differ():
    # Japanese has no spaces: a "word" is a whole clause, and the two edits change two of its twelve.
    copy = HARBOUR_JA.replace("約四百人", "約四百五十人").replace("春の終わり", "夏の初め")
    a, b = fingerprint(HARBOUR_JA), fingerprint(copy)
    assert a.text_hash != b.text_hash
    assert jaccard(a.signature, b.signature) >= 0.8 and set(a.bands) & set(b.bands)
    other = "東京都は水曜日、新しい美術館の建設計画を発表した。市民からは期待の声が上がっている。" * 6
    assert jaccard(a.signature, fingerprint(other).signature) < 0.3


def test_the_division_free_modulo_gives_numpys_remainders_at_the_edges():
    import numpy as np

    from storyline.dedup import _PRIME, _mod_prime

    p = int(_PRIME)
    edges = [0, 1, p - 1, p, p + 1, p + 7, 2 * p - 1, 2 * p, (1 << 61), (1 << 62) + 5, (1 << 64) - 1, (1 << 64) - 2]
    rng = np.random.default_rng(5)
    values = np.concatenate([np.array(edges, dtype=np.uint64), rng.integers(0, 1 << 63, 5000, dtype=np.uint64) * np.uint64(2)])
    assert (_mod_prime(values.copy()) == values % _PRIME).all()
    assert (_mod_prime(values.copy()) < _PRIME).all()


@pytest.mark.parametrize("threshold", [0.5, 0.75, 0.8, 0.85, 0.9, 1.0])
def test_articles_sharing_fewer_bands_than_needed_never_reach_the_threshold(threshold):
    rng = np.random.default_rng(7)
    a = rng.integers(0, 2**32, size=dedup.NUM_PERM, dtype=np.uint64)
    for shared in range(1, dedup.BANDS + 1):  # sharing none, an article is never a candidate at all
        # Signatures as alike as `shared` whole bands allow: one value differs in each other band.
        b = a.copy()
        for band in range(shared, dedup.BANDS):
            b[band * dedup.ROWS] += np.uint64(1)
        reaches = dedup.jaccard(a.tobytes(), b.tobytes()) >= threshold
        assert reaches == (shared >= dedup.bands_needed(threshold)), (shared, threshold)
