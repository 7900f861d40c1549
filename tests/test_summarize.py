"""Sentence splitting and extractive event summaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyline import summarize as summarize_mod
from storyline.summarize import clean_title, find_quotes, keywords, split_sentences, summarize

DOC_A = (
    "Flood waters forced thousands of residents of Riverton to leave their homes on Sunday. "
    "The River Vale burst its banks after three days of heavy rain, officials said.\n\n"
    "Photo: Residents wade through a flooded street in Riverton (AFP)\n\n"
    "Will the town ever recover? Emergency crews rescued 40 people from rooftops overnight."
)
DOC_B = (
    "By Jane Reporter\n\n"
    "Thousands of Riverton residents fled rising flood waters on Sunday after the River Vale "
    "burst its banks.\n\n"
    "The regional governor declared a state of emergency and asked the army for boats."
)
DOC_C = (
    "Heavy rain caused the River Vale to burst its banks in Riverton, forcing thousands of "
    "residents from their homes.\n\n"
    "Insurers expect claims to run into millions of pounds."
)


def test_split_sentences_keeps_abbreviations() -> None:
    text = (
        "On Jan. 9 the U.S. State Department said Mr. Kim met George W. Bush. "
        "He moved to the U.S. The next day was calm! Was it? \"Yes.\" She left.\n\n"
        "A wrapped line that\ncontinues here."
    )
    assert split_sentences(text) == [
        "On Jan. 9 the U.S. State Department said Mr. Kim met George W. Bush.",
        "He moved to the U.S.",
        "The next day was calm!",
        "Was it?",
        '"Yes."',
        "She left.",
        "A wrapped line that continues here.",
    ]


def test_split_sentences_empty() -> None:
    assert split_sentences("") == []
    assert split_sentences("\n\n  \n") == []


def test_summary_picks_lead_facts_without_repeats_captions_or_questions() -> None:
    summary = summarize([("Floods hit Riverton", DOC_A), ("Riverton floods", DOC_B), ("Vale floods", DOC_C)])
    assert 0 < len(summary) <= 400
    # The three leads say the same thing: exactly one is kept, and it comes first.
    leads = ["Flood waters forced thousands", "Thousands of Riverton residents fled", "Heavy rain caused the River"]
    assert sum(lead in summary for lead in leads) == 1
    assert any(summary.startswith(lead) for lead in leads)
    for banned in ("Photo:", "?", "By Jane", "(AFP)"):
        assert banned not in summary


def test_summary_respects_limits() -> None:
    docs = [("Floods hit Riverton", DOC_A), ("Riverton floods", DOC_B)]
    assert len(split_sentences(summarize(docs, max_sentences=1))) == 1
    assert len(summarize(docs, max_chars=120)) <= 120


def test_summary_orders_sentences_by_position() -> None:
    summary = summarize([("Floods hit Riverton", DOC_A), ("Riverton floods", DOC_B)], max_sentences=3)
    sentences = split_sentences(summary)
    assert len(sentences) >= 2
    assert any(sentences[0].startswith(s) for s in ("Flood waters forced", "Thousands of Riverton"))
    assert "The regional governor declared" in summary  # a second-paragraph fact, after the lead


def test_title_only_docs_fall_back_to_best_title() -> None:
    docs = [
        ("Riverton floods force thousands from homes - The Daily Example", ""),
        ("Thousands flee Riverton floods | Example Times", ""),
        ("Markets open higher", ""),
    ]
    assert summarize(docs) in {"Riverton floods force thousands from homes", "Thousands flee Riverton floods"}
    assert summarize([("", ""), ("", "")]) == ""
    assert summarize([]) == ""


def test_clean_title() -> None:
    assert clean_title("Kim pledges support for Putin - Vanguard News") == "Kim pledges support for Putin"
    assert clean_title("Short - Outlet") == "Short - Outlet"
    # A dash within the headline is no outlet: the words after it are part of the sentence.
    headline = "Shares slip at the close as U.S. - Canada lumber talks stall"
    assert clean_title(headline) == headline
    assert clean_title("Harbour fees to rise next spring - WHRB 41 ...") == "Harbour fees to rise next spring"  # a cut name
    assert clean_title("Inside the harbour's long recovery (1/9)") == "Inside the harbour's long recovery"  # a page mark
    # Japanese headlines have no spaces between words; the site after them still goes.
    assert clean_title("港の新しい橋が完成 住民が祝う - 港湾ニュース") == "港の新しい橋が完成 住民が祝う"


def test_seeds_summary(seeds: Path) -> None:
    docs = []
    for name, first in [
        ("001_263bf7f380e4d1eb.txt", "North Korean leader Kim Jong Un has pledged"),
        ("003_1ec0a023e610d68b.txt", "In a formal New Year's message"),
    ]:
        text = (seeds / name).read_text(encoding="utf-8")
        docs.append(("", text[text.index(first) :]))
    summary = summarize(docs)
    assert 0 < len(summary) <= 400
    assert "Kim" in summary and "Putin" in summary
    assert "Photograph" not in summary and "TRENDING" not in summary


def test_find_quotes_reports_raw_attributions() -> None:
    text = (
        'The mayor spoke first. "We will rebuild every bridge that the river took from us," '
        "Mayor Ana Ruiz said on Monday.\n\n"
        'According to the Port Authority, "the harbour will reopen to cargo ships within a week."\n\n'
        'Residents called it "a miracle".'
    )
    seen: list[str] = []

    def speaker_of(raw: str, _at: int, _spans: list[tuple[int, int]]) -> str:
        seen.append(raw)
        return raw.upper()

    quotes = find_quotes(text, speaker_of)
    assert [q.text for q in quotes] == [
        "We will rebuild every bridge that the river took from us",
        "the harbour will reopen to cargo ships within a week.",
    ]
    assert seen == ["Mayor Ana Ruiz", "the Port Authority"]
    assert [q.speaker for q in quotes] == ["MAYOR ANA RUIZ", "THE PORT AUTHORITY"]


def test_a_quotation_is_attributed_with_the_verb_as_far_before_it_as_the_pattern_allows() -> None:
    # The verb of saying may stand up to 80 characters before the quotation (its longest form here).
    seen: list[str] = []

    def speaker_of(raw: str, _at: int, _spans: list[tuple[int, int]]) -> str:
        seen.append(raw)
        return raw

    words = "that the pier, closed since the spring storms, would reopen for ferries in June: "
    for gap, speaker in ((words[:80], "Marta Quinn"), (words[:81], None)):
        text = f'Marta Quinn acknowledged {gap[1:]}"the timber piles under the old landing had rotted through."'
        assert [q.speaker for q in find_quotes(text, speaker_of)] == [speaker]
    assert seen == ["Marta Quinn"]


def test_keywords_standalone() -> None:
    text = "The drought dried the reservoir. Farmers watched the reservoir shrink as the drought went on."
    terms = keywords("Drought empties reservoir", text, [("Lake Vale", 3)])
    assert set(terms[:2]) == {"reservoir", "drought"}  # in the title and twice in the text
    assert "lake vale" in terms and "the" not in terms


def test_word_weights_share_wordfreqs_one_table():
    # A lookup with other arguments than wordfreq's own would build a second 28 MB table per process.
    import wordfreq

    from storyline.summarize import word_table, zipf

    assert word_table() is wordfreq.get_frequency_dict("en", "best")
    zipf("pledge")
    tables = wordfreq.get_frequency_dict.cache_info().currsize
    assert zipf("g20") > 0  # not a plain word: answered by wordfreq's own tokenizing lookup
    assert wordfreq.get_frequency_dict.cache_info().currsize == tables


@pytest.mark.parametrize(
    "sentence",
    [
        "Rescue workers carry a survivor from the rubble in this photo taken on Monday.",
        "GETTY IMAGES shows the harbour at dawn before the storm reached the town.",
        "By Maria Lindqvist, harbour correspondent for the evening edition of the paper.",
        "Readers can follow us on every platform for updates from the harbour town.",
        "Send your tips to the newsroom at tips@example.org before the council meets.",
        "The full report is online at https://example.org/harbour for all readers.",
        "The mayor, left, and the harbour master, right, opened the new ferry terminal.",
        "Councillors voted on the harbour plan late on Tuesday evening. [HARBOUR DESK]",
        "Councillors voted on the harbour plan late on Tuesday evening (Reuters)",
        "The harbour master (R) spoke to reporters after the vote on Tuesday evening.",
        "© Harbour Gazette, every word of this report belongs to the paper and its staff.",
        "Click here to read the council's full statement on the harbour plan today.",
    ],
)
def test_caption_cues_never_spare_a_caption(sentence):
    # The cue check only skips the slow search: each branch of the caption pattern must still be found.
    assert summarize_mod._CAPTION.search(sentence) is not None
    assert summarize_mod._is_caption(sentence)
    assert not summarize_mod._usable(sentence)


def test_caption_cues_leave_plain_sentences_alone():
    plain = "The council approved the harbour plan on Tuesday after a long debate."
    assert not summarize_mod._is_caption(plain) and summarize_mod._usable(plain)


def test_words_keep_joined_words_and_drop_stopwords_and_single_letters():
    text = "I saw a B-52 land, an x-ray at 5 o'clock and Li’s jet-lag."
    assert summarize_mod.words(text) == ["saw", "land", "x-ray", "o'clock", "li’s", "jet-lag"]


def test_sentence_vectors_are_unit_length_and_weigh_repeats_by_log_count():
    import math

    vec = summarize_mod._vector(["flood", "flood", "river", "banks"])
    assert math.isclose(sum(v * v for v in vec.values()), 1.0)
    ratio = (1 + math.log(2)) * summarize_mod._idf("flood") / summarize_mod._idf("river")
    assert math.isclose(vec["flood"] / vec["river"], ratio)
    assert math.isclose(vec["river"] / vec["banks"], summarize_mod._idf("river") / summarize_mod._idf("banks"))


def test_summaries_leave_agency_datelines_out():
    text = (
        "RIVERTON (Reuters) - Flood waters forced thousands of residents of Riverton to leave their homes on Sunday. "
        "The River Vale burst its banks after three days of heavy rain in the valley, officials said."
    )
    summary = summarize([("Riverton flood", text)])
    assert summary.startswith("Flood waters forced thousands")
    assert "Reuters" not in summary


def test_keywords_from_counts_made_ahead_are_those_counted_inline():
    from storyline.summarize import word_counts

    title = "Drought empties the reservoir"
    text = (
        "The reservoir level fell again as the drought went on. Reservoir levels are now the lowest on record. "
        "Farmers near the reservoir said the drought had ruined the harvest, and the drought may last. "
        "Engineers at vale water said vale water would ration supplies while the reservoir refills."
    )
    names = [("Water Board", 2)]
    inline = keywords(title, text, names)
    assert keywords(title, text, names, counted=word_counts(title, text)) == inline
    assert "drought" in inline and "reservoir" in inline
    # A name's words count neither alone nor in a phrase: "vale water" repeats, but "water" is the name's.
    assert "vale water" in keywords(title, text, [])
    assert not {"water", "vale water"} & set(inline)


class _CopyCountingStr(str):
    """A str that counts the characters its slices copy."""

    copied = 0

    def __getitem__(self, key: int | slice) -> str:
        piece = str.__getitem__(self, key)
        if isinstance(key, slice):
            self.copied += len(piece)
        return piece


def test_a_long_one_line_paragraph_is_split_without_copying_it_per_period() -> None:
    """Each period once copied and searched all the text before it: quadratic in a one-line article."""
    acronym = ".".join("abcdefghijklmnopqrstuvwxyz" * 2).upper()  # longer than any look-back window would be
    unit = f"On Jan. 9 Mr. Kim met George W. Bush in the U.S. The talks ended. The {acronym}. President left. "
    line = _CopyCountingStr((unit * 200).strip())
    assert summarize_mod._split_line(line) == [
        "On Jan. 9 Mr. Kim met George W. Bush in the U.S.", "The talks ended.", f"The {acronym}. President left.",
    ] * 200
    assert line.copied <= 2 * len(line)  # each sentence once, plus a word or two per period


def test_a_headline_only_summary_is_no_column() -> None:
    docs = [
        ("Opinion: the council vote on the ferry pier closure went wrong", ""),  # the closest to the others
        ("Council vote passes narrowly", ""),
        ("Ferry pier closure starts in June", ""),
    ]
    assert not summarize(docs).startswith("Opinion")
    assert summarize(docs[:1]) == docs[0][0]  # a column alone is still all there is to say


def test_a_summary_is_drawn_from_each_reports_opening() -> None:
    lead = "Crews reopened the Kestrel Bay bridge on Monday after a week of repairs to its deck."
    filler = " ".join(f"Traffic officers counted {n} lorries on the coast road during the closure." for n in range(60))
    late = "Kestrel Bay bridge repairs Kestrel Bay bridge deck repairs reopened Kestrel Bay bridge Monday."
    text = f"{lead} {filler} {late}"
    assert len(text) > summarize_mod.OPENING_CHARS and text.index(late) > summarize_mod.OPENING_CHARS
    sentences = summarize_mod.opening_sentences(text)
    assert sentences[0] == lead and late not in sentences
    assert len(" ".join(sentences)) <= summarize_mod.OPENING_CHARS  # the sentence the cut falls in is left out
    # Reports whose one on-topic sentence comes last, after a long stretch of unrelated ones: read whole,
    # that sentence was chosen; it lies past the opening, so it is not read.
    words = "orchard violin glacier meadow lantern compass falcon willow ember quartz saddle timber marble".split()
    fair = [f"The {a} {b} festival drew {n} visitors." for n, (a, b) in enumerate(zip(words * 9, words[3:] * 9 + words[:3] * 9))]
    reopened = "Crews reopened the Kestrel Bay bridge on Monday after repairs to its deck."
    docs = [("Kestrel Bay bridge reopens after deck repairs", " ".join(fair[i:] + fair[:i]) + " " + reopened) for i in range(3)]
    assert all(d[1].index(reopened) > summarize_mod.OPENING_CHARS for d in docs)
    summary = summarize(docs, max_sentences=3)
    assert summary and reopened not in summary
    short = "Kestrel Bay bridge reopened. It had been shut a week."
    assert summarize_mod.opening_sentences(short) == ["Kestrel Bay bridge reopened.", "It had been shut a week."]
