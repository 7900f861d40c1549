"""Event dates read from text against the publication date."""

from datetime import date

import pytest

from storyline.dates import combine, resolve_event_date
from storyline.models import EventDate

WED = date(2024, 3, 13)  # a Wednesday


def test_previous_day_beats_report_day():
    text = (
        "The harbour authority confirmed the closure, local radio reported Wednesday.\n"
        "Two tugboats collided near the pier the previous day, officials said."
    )
    got = resolve_event_date(text, WED)
    assert got.day == date(2024, 3, 12)
    assert got.method == "text"
    assert "previous day" in got.evidence


def test_a_lead_that_opens_with_a_relative_day_is_read_in_any_case():
    for opening, day in (("Yesterday, two", 12), ("Last night two", 12), ("Today two", 13), ("The previous day, two", 12)):
        got = resolve_event_date(f"{opening} tugboats collided near the pier, officials said.", WED)
        assert (got.day, got.method) == (date(2024, 3, day), "text"), opening
    # Month names stay capitalised only: "may" is a verb.
    assert resolve_event_date("The tugboats may collide again, officials said.", WED).method == "published"
    # Capitalised within a sentence it is a name, not a day: "USA Today", the "Tonight Show".
    assert resolve_event_date("USA Today reported that the factory shut on Monday.", WED).day == date(2024, 3, 11)
    assert resolve_event_date("A Tonight Show host said on Monday that the tour ends.", WED).day == date(2024, 3, 11)


def test_weekday_resolves_to_the_latest_such_day_before_publication():
    got = resolve_event_date("During a meeting on Monday, the council voted to close the library.", WED)
    assert got.day == date(2024, 3, 11)


def test_explicit_date_in_brackets_wins_over_the_weekday_alone():
    got = resolve_event_date("The mayor resigned on Friday (Mar 8), according to the city paper.", WED)
    assert got.day == date(2024, 3, 8)


def test_future_plans_are_not_the_event():
    text = "The two ministers are scheduled to meet on Friday. They spoke by phone on Tuesday."
    assert resolve_event_date(text, WED).day == date(2024, 3, 12)


def test_only_report_dates_are_used_when_nothing_else_is_said():
    got = resolve_event_date("The agency said on Monday that the dam is safe.", WED)
    assert got.day == date(2024, 3, 11)


def test_old_background_dates_are_ignored_and_publication_is_the_fallback():
    got = resolve_event_date("The bridge, opened on June 2, 1998, carries trams.", WED)
    assert got.method == "published"
    assert got.day == WED


def test_year_is_inferred_across_new_year():
    got = resolve_event_date("Fireworks were launched on Dec 31 over the bay.", date(2025, 1, 2))
    assert got.day == date(2024, 12, 31)


def test_no_publication_date_means_no_reading():
    assert resolve_event_date("Something happened yesterday.", None) is None


def test_combine_prefers_text_evidence_then_votes_then_earliest():
    readings = [
        EventDate(date(2024, 3, 12), "text", "a"),
        EventDate(date(2024, 3, 12), "text", "b"),
        EventDate(date(2024, 3, 13), "text", "c"),
        EventDate(date(2024, 3, 10), "published", "p"),
    ]
    assert combine(readings).day == date(2024, 3, 12)
    only_published = [EventDate(date(2024, 3, 14), "published", "x"), EventDate(date(2024, 3, 13), "published", "y")]
    got = combine(only_published)
    assert got.day == date(2024, 3, 13) and got.method == "published"
    assert combine([]) is None


@pytest.mark.parametrize("title, text, published, expected", [
    ("Biden to visit Kyiv on Friday", "The White House announced the trip.", date(2026, 1, 6), None),
    (None, "Zelensky will meet U.S. President Donald Trump at the White House on Thursday.", date(2026, 1, 6), None),
    (None, "Los Angeles prosecutors will file a criminal case against Michael Jackson's doctor on Monday, officials say.",
     date(2010, 2, 5), None),
    (None, "Talks are set for Friday, diplomats said.", date(2026, 1, 6), None),
    (None, "The quake struck on Tuesday, Jan. 12, flattening much of the capital.", date(2010, 1, 24), date(2010, 1, 12)),
    (None, "The storm, expected on Sunday, made landfall on Monday near Tampa.", date(2026, 1, 6), date(2026, 1, 5)),
    (None, '"We were locked in that room until 3 a.m. on Sunday," one senator said. The Senate passed the bill on Monday.',
     date(2026, 1, 6), date(2026, 1, 5)),
])
def test_plans_quotes_and_weekdays_before_a_date(title, text, published, expected) -> None:
    found = resolve_event_date(text, published, title)
    assert (found.day if found.method == "text" else None) == expected, found


@pytest.mark.parametrize("title, text, expected", [
    ("Crowds fill Harbor Mall for Black Friday deals", "Doors were opened at six.", None),
    ("Cyber Monday sales beat last year's", "Retailers were pleased.", None),
    (None, "Talks on the Good Friday agreement went on in Belfast.", None),
    (None, "A Sunday Times report said the minister had quit.", None),
    (None, "Harbour towns marked Bloody Sunday with a silent march.", None),  # a day of history
    (None, "Saturday Night Live mocked the senator's speech.", date(2024, 3, 9)),  # aired that Saturday
    # The same days standing alone, or after a lower-case word, are dates.
    ("Harbor Mall Shuts Friday After Flood", "The owners were not reached.", date(2024, 3, 8)),
    (None, "It was a good Friday for the port's traders, the chamber said.", date(2024, 3, 8)),
    (None, "The Sunday Times said on Monday that the deal had fallen through.", date(2024, 3, 11)),
])
def test_a_weekday_within_a_name_is_no_date(title, text, expected) -> None:
    found = resolve_event_date(text, WED, title)
    assert (found.day if found.method == "text" else None) == expected, found


@pytest.mark.parametrize("text, published, expected", [
    ("Bombers struck two churches on Easter Sunday, police said.", date(2024, 4, 1), date(2024, 3, 31)),
    ("Shoppers queued outside the harbour mall on Black Friday.", date(2023, 11, 25), date(2023, 11, 24)),
    ("Online sales set a record on Cyber Monday, retailers said.", date(2023, 11, 28), date(2023, 11, 27)),
    ("Pilgrims walked to the shrine on Good Friday.", date(2024, 3, 30), date(2024, 3, 29)),
    ("The senator won twelve states on Super Tuesday.", date(2024, 3, 6), date(2024, 3, 5)),  # no fixed date: the weekday
])
def test_a_holiday_is_its_own_date_not_the_latest_such_weekday(text, published, expected) -> None:
    found = resolve_event_date(text, published)
    assert (found.day, found.method) == (expected, "text"), found
