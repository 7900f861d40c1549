"""Story timelines: date expressions, day ranking and per-day sentences, on a small made-up story."""

from __future__ import annotations

from datetime import date

from storyline.timeline import (
    build_timeline,
    day_mentions,
    prepare,
    strip_dateline,
    timeline_from,
    topic_keywords,
    typed_mentions,
)

# A made-up story, tokenised the way the Timeline17 corpus is ("on Monday ,"), one sentence a line.
# Cracks are found on Monday 2 October 2023; water is let out on Tuesday; people go home on Thursday 5.
ARTICLES = [
    (
        date(2023, 10, 2),
        "Engineers found cracks in the Fenwick dam on Monday after a week of heavy rain .\n"
        "The county ordered 2,000 residents below the dam to leave their homes tonight .\n"
        "Officials described the reservoir as fuller than at any point in forty years .",
    ),
    (
        date(2023, 10, 3),
        "Crews began releasing water from the Fenwick reservoir on Tuesday to take pressure off the cracked dam .\n"
        "The evacuation ordered yesterday remains in force , the county said .\n"
        "Schools in the valley will stay closed until Friday .",
    ),
    (
        date(2023, 10, 3),
        "Families who fled the Fenwick dam area on Monday spent the night in a school gym .\n"
        "Volunteers handed out blankets and hot soup to evacuated families .",
    ),
    (
        date(2023, 10, 4),
        "The water in the Fenwick reservoir dropped by two metres overnight , engineers said on Wednesday .\n"
        "The cracks in the dam appeared on Monday , October 2 , after days of rain .",
    ),
    (
        date(2023, 10, 6),
        "Residents returned home on Thursday after engineers declared the Fenwick dam safe .\n"
        "The evacuation began on October 2 when cracks were found in the wall .",
    ),
    (
        date(2023, 10, 6),
        "Families unpacked their cars after the all-clear for the Fenwick dam was given on Thursday .\n"
        "Repairs to the cracked wall of the dam will take most of the winter , the county said .",
    ),
]


def test_weekdays_and_relative_words_resolve_against_publication_day() -> None:
    wednesday = date(2023, 10, 4)
    assert day_mentions("Crews worked through the night , officials said on Tuesday .", wednesday) == [date(2023, 10, 3)]
    assert day_mentions("The order given yesterday still stands .", wednesday) == [date(2023, 10, 3)]
    assert day_mentions("Engineers met today to plan repairs .", wednesday) == [wednesday]
    assert day_mentions("Inspectors met on Wednesday .", wednesday) == [wednesday]  # the same weekday is that day
    assert day_mentions("The committee will meet on Friday to decide .", wednesday) == [date(2023, 10, 6)]
    assert day_mentions("They last met last Wednesday .", wednesday) == [date(2023, 9, 27)]


def test_explicit_dates_take_the_nearest_year_unless_one_is_given() -> None:
    published = date(2011, 1, 3)
    assert day_mentions("Protests began on December 28 in the capital .", published) == [date(2010, 12, 28)]
    assert day_mentions("The rig exploded on 20 April 2010 , killing 11 workers .", published) == [date(2010, 4, 20)]
    assert day_mentions("The vote is set for Jan. 9 .", published) == [date(2011, 1, 9)]
    assert day_mentions("It happened on April 20 , 2010 .", published) == [date(2010, 4, 20)]
    # Capitals tell the month from the verb and the modal.
    assert day_mentions("Thousands may 5 times over march 20 miles .", published) == []


def test_page_stamps_and_comment_times_are_not_events() -> None:
    published = date(2005, 2, 1)
    assert day_mentions("Tuesday 1 February 2005 02.38 GMT The vote went ahead .", published) == []
    assert day_mentions("January 31 , 2005 at 6:02 pm Good points all round .", published) == []
    assert day_mentions("VENICE , Louisiana | Mon Jan 31 , 2005 7:54 pm EDT VENICE", published) == []


def test_a_chronology_line_is_marked_as_an_entry() -> None:
    found = typed_mentions("March 19 - Coalition air strikes begin .", date(2011, 10, 20))
    assert found == [(date(2011, 3, 19), "entry")]
    assert typed_mentions("Air strikes began on March 19 .", date(2011, 10, 20)) == [(date(2011, 3, 19), "explicit")]


def test_wire_datelines_are_stripped() -> None:
    line = "LONDON | Tue Mar 15 , 2011 1:48 pm GMT LONDON -LRB- Reuters -RRB- - Ministers met on Tuesday ."
    assert strip_dateline(line) == "Ministers met on Tuesday ."
    assert strip_dateline("Cairo , Egypt -LRB- CNN -RRB- -- Crowds gathered .") == "Crowds gathered ."
    assert strip_dateline("The US -LRB- and its allies -RRB- - agreed .") == "The US -LRB- and its allies -RRB- - agreed ."


def test_most_referred_days_are_chosen_with_sentences_about_them() -> None:
    timeline = build_timeline(ARTICLES, n_dates=2, sentences_per_date=1, keywords=["FenwickDam"])
    assert [day for day, _ in timeline] == [date(2023, 10, 2), date(2023, 10, 5)]
    (_, first), (_, second) = timeline
    assert len(first) == 1 and "cracks" in first[0]
    assert len(second) == 1 and ("safe" in second[0] or "all-clear" in second[0])


def test_more_dates_and_sentences_when_asked() -> None:
    timeline = build_timeline(ARTICLES, n_dates=3, sentences_per_date=2, keywords=["FenwickDam"])
    days = [day for day, _ in timeline]
    assert days[0] == date(2023, 10, 2) and date(2023, 10, 5) in days and len(days) == 3
    assert all(1 <= len(sentences) <= 2 for _, sentences in timeline)
    assert all(len(set(sentences)) == len(sentences) for _, sentences in timeline)


def test_span_limits_both_articles_and_days() -> None:
    span = (date(2023, 10, 3), date(2023, 10, 6))
    timeline = timeline_from(prepare(ARTICLES), 2, 1, ["FenwickDam"], span)
    days = [day for day, _ in timeline]
    assert days and all(span[0] <= d <= span[1] for d in days)
    assert days[0] != date(2023, 10, 2)
    assert date(2023, 10, 5) in days


def test_keywords_come_from_the_label_and_the_story() -> None:
    keys = topic_keywords(prepare(ARTICLES), ["FenwickDam"])
    assert keys[:2] == ["fenwick", "dam"]
    assert "fenwick" in topic_keywords(prepare(ARTICLES), None)


def test_nothing_to_build_gives_an_empty_timeline() -> None:
    assert build_timeline([], 3, 1) == []
    assert build_timeline(ARTICLES, 0, 1) == []
