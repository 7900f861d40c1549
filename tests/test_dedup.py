"""Exact and near-duplicate fingerprints."""

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
