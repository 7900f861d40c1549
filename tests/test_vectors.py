"""Term vectors and the centroid index: what counts as a term, and searches that see only the window."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest

from storyline.vectors import (
    Centroid,
    CentroidIndex,
    DocVector,
    cosine,
    document_vector,
    headline_vector,
    slug_words,
    tokens,
    top_terms,
    unit,
)

# Our own small reports: two of one bout, one of the same champion's later bout.
BOUT_A1 = (
    "Mara Velasquez keeps her title with a ninth-round stoppage of Ilse Brandt",
    "Mara Velasquez retained her lightweight title on Saturday, stopping Ilse Brandt in the ninth round "
    "in front of 12,400 fans in Valencia. Brandt had been knocked down twice before the referee waved it off. "
    "Velasquez improved to 31-2 with 19 knockouts.",
)
BOUT_A2 = (
    "Velasquez stops Brandt in nine to stay champion",
    "Defending champion Mara Velasquez forced a ninth-round stoppage against Ilse Brandt on Saturday night in "
    "Valencia, dropping the challenger twice before the referee stepped in. The win moves Velasquez to 31-2.",
)
BOUT_B = (
    "Velasquez outpoints Okafor over twelve rounds to defend lightweight belt",
    "Mara Velasquez defended her lightweight title on Saturday with a unanimous decision over Chidinma Okafor "
    "after twelve rounds in Seville. Okafor was never down, but Velasquez won every card by wide margins and "
    "is now 34-2.",
)


def vec(report: tuple[str, str]) -> DocVector:
    return document_vector(report[0], report[1])


def test_tokens_keep_numbers_and_drop_possessives():
    assert tokens("Brandt's 12,400 fans saw a 5.6 rating, IE11 and all") == [
        "brandt", "12400", "fans", "saw", "5.6", "rating", "ie11", "and", "all"
    ]


def test_document_vector_is_unit_with_numbers_and_word_pairs():
    v = vec(BOUT_A1)
    assert math.isclose(math.sqrt(sum(x * x for x in v.values())), 1.0)
    assert "#12400" in v and "#31-2" not in v  # numbers are terms; a record splits into its parts
    assert "#31" in v and "#2" in v
    assert "ninth round" in v  # adjacent content words pair up ...
    assert "the" not in v and "her" not in v  # ... and common words carry nothing
    assert not any(k.startswith("in ") or k.endswith(" the") for k in v)


def test_a_headline_alone_is_brief_and_a_text_is_not():
    assert document_vector("Velasquez stops Brandt", "").brief
    assert not vec(BOUT_A1).brief
    assert document_vector("Velasquez stops Brandt", "", url="https://example.org/sport/velasquez-stops-brandt").brief


def test_same_bout_is_closer_than_the_same_champions_next_bout():
    a1, a2, b = vec(BOUT_A1), vec(BOUT_A2), vec(BOUT_B)
    assert cosine(a1, a2) > cosine(a1, b) + 0.1
    assert cosine(a2, a1) > cosine(a2, b) + 0.1


def test_headline_vector_is_the_cached_title_vector():
    title = "Flood barrier holds as river peaks at 6.2 metres"
    assert headline_vector(title) == document_vector(title, "")
    assert headline_vector(title) is headline_vector(title)


def test_slug_words_skip_ids_and_domains():
    assert slug_words("https://news.example.com/2014/03/11/carney-faces-forex-questions-x7Qz9?ref=rss") == (
        "carney faces forex questions"
    )


def test_centroid_similarity_is_cosine_and_survives_storage():
    terms = {"flood": 1.4, "barrier": 0.9, "river": 0.5}
    c = Centroid(7, terms, 3, date(2024, 5, 1), date(2024, 5, 2))
    v = unit({"flood": 1.0, "river": 2.0, "rain": 1.0})
    assert math.isclose(c.similarity(v), cosine(v, terms))
    back = Centroid.loads(7, c.dumps(), "2024-05-01", "2024-05-02")
    assert back == c and math.isclose(back.similarity(v), c.similarity(v))


def test_search_sees_only_groups_within_the_window():
    index = CentroidIndex(window_days=3)
    day = date(2024, 5, 10)
    index.put(Centroid(1, {"flood": 1.0}, 1, day, day))
    index.put(Centroid(2, {"flood": 1.0}, 1, day + timedelta(days=4), day + timedelta(days=9)))
    index.put(Centroid(3, {"flood": 1.0}, 1, day - timedelta(days=20), day - timedelta(days=4)))
    index.put(Centroid(4, {"flood": 1.0}))  # undated
    v = {"flood": 1.0}
    assert [gid for _, gid in index.search(v, day)] == [1]
    assert [gid for _, gid in index.search(v, day + timedelta(days=1))] == [1, 2]
    assert [gid for _, gid in index.search(v, day - timedelta(days=1))] == [1, 3]
    assert [gid for _, gid in index.search(v, None)] == [4]


@pytest.mark.parametrize("probe", [2, 5])
def test_search_equals_checking_every_group(probe):
    rng = random.Random(3)
    words = [f"w{i}" for i in range(40)]
    for window in (1, 3, 240):
        index = CentroidIndex(window_days=window, probe_terms=probe)
        start = date(2020, 1, 1)
        for gid in range(300):
            first = start + timedelta(days=rng.randrange(2000))
            last = first + timedelta(days=rng.choice([0, 0, 1, 5, 30, 400]))
            terms = {w: rng.random() + 0.1 for w in rng.sample(words, 6)}
            index.put(Centroid(gid, terms, 1, first, last))
        for gid in range(0, 300, 7):
            index.remove(gid)
        index.compact()  # rebuilt postings and buckets must find the same groups
        for gid in range(1, 300, 5):  # replaced groups keep only their new terms' postings
            old = index.items.get(gid, Centroid(gid, {}, 0, start, start))
            index.put(Centroid(gid, {w: rng.random() + 0.1 for w in rng.sample(words, 6)}, 2, old.first_day, old.last_day))
        for _ in range(60):
            v = unit({w: rng.random() for w in rng.sample(words, 4)})
            day = start + timedelta(days=rng.randrange(-50, 2100))
            expected = sorted(
                (
                    (c.similarity(v), gid)
                    for gid, c in index.items.items()
                    if index.in_window(c, day) and set(top_terms(v, probe)) & set(c.terms)
                ),
                key=lambda sc: (-sc[0], sc[1]),
            )
            assert index.search(v, day) == expected


def test_removing_a_group_leaves_no_postings():
    index = CentroidIndex(window_days=3)
    index.put(Centroid(1, {"a": 1.0, "b": 1.0}, 1, date(2024, 1, 1), date(2024, 1, 20)))
    index.remove(1)
    assert index.postings == {} and index.buckets == {} and len(index) == 0


def test_add_member_sums_vectors_and_widens_the_span():
    index = CentroidIndex(window_days=3, max_terms=2)
    index.add_member(5, {"a": 0.8, "b": 0.6}, date(2024, 1, 2))
    c = index.add_member(5, {"a": 0.6, "c": 0.8}, date(2024, 1, 1))
    assert c.n == 2 and (c.first_day, c.last_day) == (date(2024, 1, 1), date(2024, 1, 2))
    assert c.terms == {"a": 1.4, "c": 0.8}  # the heaviest terms only


# Two storms of one kind told in the same words; only the figures (and the day) differ.
STORM_1 = (
    "Storm floods coastal towns",
    "A storm flooded coastal towns overnight, leaving 14 people dead and 2,300 homes without power, "
    "officials said on Tuesday. Rescue crews evacuated 850 residents as rivers rose 3.2 metres.",
)
STORM_1_AGAIN = (
    "Coastal flooding kills 14",
    "Rivers rose 3.2 metres and 850 residents had to be evacuated after a storm swept the coast; 14 died and "
    "2,300 homes lost power, emergency services reported on Tuesday.",
)
STORM_2 = (
    "Storm floods coastal towns",
    "A storm flooded coastal towns overnight, leaving 6 people dead and 41,000 homes without power, "
    "officials said on Friday. Rescue crews evacuated 1,200 residents as rivers rose 4.5 metres.",
)


def test_a_full_texts_figures_tell_two_storms_apart(monkeypatch):
    import storyline.vectors as vectors

    same, other = cosine(vec(STORM_1), vec(STORM_1_AGAIN)), cosine(vec(STORM_1), vec(STORM_2))
    assert same > other  # the same figures outweigh the same wording
    # Without the boost the wording wins: the boost is what does it.
    monkeypatch.setattr(vectors, "TEXT_NUMBER_BOOST", 1.0)
    assert cosine(vec(STORM_1), vec(STORM_1_AGAIN)) < cosine(vec(STORM_1), vec(STORM_2))


def test_numbers_are_boosted_in_full_texts_only():
    import storyline.vectors as vectors

    text = document_vector("Quake of 6.1 kills 40", "A quake of magnitude 6.1 killed 40 people in the hills.")
    brief = document_vector("Quake of 6.1 kills 40", "")
    assert text["#40"] / text["quake"] > brief["#40"] / brief["quake"]
    assert brief == document_vector("Quake of 6.1 kills 40", "") and vectors.TEXT_NUMBER_BOOST > 1


def test_a_group_spanning_years_is_found_on_any_day_of_its_span():
    index = CentroidIndex(window_days=3)
    index.put(Centroid(1, {"quake": 1.0}, 2, date(2010, 1, 1), date(2030, 1, 1)))
    index.put(Centroid(2, {"quake": 1.0}, 1, date(2020, 6, 1), date(2020, 6, 2)))
    assert index.buckets.keys() >= {"wide"} and len(index.buckets) < 10  # not filed under a thousand weeks
    assert [gid for _, gid in index.search({"quake": 1.0}, date(2020, 6, 3))] == [1, 2]
    assert [gid for _, gid in index.search({"quake": 1.0}, date(2025, 3, 3))] == [1]
    assert index.search({"quake": 1.0}, date(2031, 1, 1)) == []
    index.remove(1)
    assert "wide" not in index.buckets


def test_top_terms_keeps_the_heaviest_in_order_and_breaks_ties_by_term():
    vec = {"quake": 0.5, "aid": 0.2, "toll": 0.5, "rescue": 0.3, "city": 0.2, "after": 0.1}
    assert list(top_terms(vec, 4).items()) == [("quake", 0.5), ("toll", 0.5), ("rescue", 0.3), ("aid", 0.2)]
    assert list(top_terms(vec, 1)) == ["quake"]
    assert list(top_terms(vec, 10)) == ["quake", "toll", "rescue", "aid", "city", "after"]
    assert top_terms(vec, 0) == {} and top_terms({}, 3) == {}
