"""Tests for boilerplate removal and header metadata of scraped article text."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from storyline.clean import clean_text, text_metadata

UTC = timezone.utc


def _unwrap(text: str) -> str:
    """Fixture text with indented continuation lines joined, so paragraphs fit in 100 columns."""
    return text.replace("\n  ", " ")


# A made-up local paper's page, scraped to plain text: menus, a cookie prompt, a caption,
# an ad slot between paragraphs, short subheads, a one-line quote, a trending list, footer.
GAZETTE = _unwrap("""Skip to content
Riverside Gazette
Home > Local > Transport
Menu | Search | Sign in
Ferry service to resume after storm repairs, council says
By Marta Quillon
Published: March 4, 2024, 9:15 am EST
The repaired pier at Eastbrook, seen from the water on Monday. (Photo: Gazette staff)
We use cookies to improve your experience. By continuing to browse you agree to our
  cookie policy.

The council confirmed on Tuesday that the Eastbrook ferry will carry passengers again from
  next week, ending a month-long suspension caused by storm damage.

Engineers replaced two pilings and the loading ramp, according to a statement from the
  harbour office.

Advertisement

What changed?

The new ramp sits higher above the tide line, which the council said should prevent a
  repeat of the flooding.

"We are glad to have the boats back," said commuter Ines Park.

Timetables and fares

Morning sailings will run every forty minutes, and fares stay at the winter rate until
  May.

Morning sailings will run every forty minutes, and fares stay at the winter rate until
  May.

Trending now
1
Mayor opens new library wing
2
Local bakery wins regional prize
3
Will the old bridge reopen before the summer?

Subscribe to our newsletter
Contact: newsroom@riverside-gazette.example
© 2024 Riverside Gazette. All rights reserved.
About us | Careers | Privacy Policy
""")

# A scraper export with a 'date' first line whose tail is a menu word, a lone author line
# confirmed by an editor credit, no headline at all, and an inline related-stories box.
DATELINE = _unwrap(""" date 2024-11-02 Main Menu
Tomas Brenner
Edited By Tomas Brenner
Updated: 02-11-2024 18:40 IST
Key points

Volunteers planted more than 3,000 saplings along the river bank over the weekend.
  Organisers hope to repeat it in spring.

The planting drive was organised by three schools and a local cycling club.

Related Stories

Cyclists clean up canal towpath

City unveils new tree register

Each sapling was tagged so that students can track its growth over the coming years.

Tags: trees, volunteers, river
""")

# A wire-style page with a news-desk credit line and a day-first date without a zone.
DESK = _unwrap("""Harbourview News Desk | Port Alma | Posted: 13 Aug. 2025, 14:42
Dock workers end strike after pay deal

LIVE TV

Dock workers at Port Alma returned to work on Wednesday after union leaders accepted a
  revised pay offer.

The strike had halted container traffic for nine days.

Published By: Ravi Anand

OPINION / BLOG / INTERVIEW

Why ports need better planning

Give Feedback
""")

# A feature page: the date rides on the byline line, a wire photo credit, a mid-body list.
FEATURE = """Home
Features
Kim and Putin: an alliance forged in war
By Anna Schmidt and Lee Min-ho | 10 January 2026
The two leaders in Pyongyang last June. (AP Photo/Staff, File)
Cookie settings
Pyongyang has sent troops and shells, officials in Seoul say.
Why now?
Experts point to Russia's need for manpower as the war drags on.
In numbers
12,000 troops
Millions of artillery shells
The two leaders last met in Beijing in September.
Share this article
Most Read
Is the ceasefire about to collapse?
1. A headline about something else entirely
"""


def _seed(seeds: Path, prefix: str) -> str:
    """The text of the seed file whose name starts with prefix."""
    (path,) = seeds.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def _paragraphs(text: str) -> list[str]:
    """Cleaned output split back into paragraphs."""
    return text.split("\n\n")


# --- own fixtures: clean_text ---------------------------------------------------------


def test_gazette_keeps_body_subheads_and_quote() -> None:
    paras = _paragraphs(clean_text(GAZETTE))
    assert paras[0].startswith("The council confirmed on Tuesday")
    assert "What changed?" in paras
    assert "Timetables and fares" in paras
    assert '"We are glad to have the boats back," said commuter Ines Park.' in paras
    assert paras[-1] == (
        "Morning sailings will run every forty minutes, and fares stay at the winter rate"
        " until May."
    )
    assert len(paras) == 7


def test_gazette_drops_boilerplate() -> None:
    out = clean_text(GAZETTE)
    for junk in (
        "Skip to content", "Riverside Gazette", "Home >", "Sign in", "By Marta", "Published:",
        "Photo: Gazette staff", "cookies", "Advertisement", "Trending", "library wing",
        "Subscribe", "newsroom@", "old bridge", "©", "Privacy Policy",
        "Ferry service to resume after storm repairs, council says",
    ):
        assert junk not in out, junk


def test_duplicate_lines_are_dropped() -> None:
    assert clean_text(GAZETTE).count("Morning sailings will run") == 1


def test_related_box_mid_body_keeps_following_paragraph() -> None:
    paras = _paragraphs(clean_text(DATELINE))
    assert paras == [
        "Volunteers planted more than 3,000 saplings along the river bank over the weekend."
        " Organisers hope to repeat it in spring.",
        "The planting drive was organised by three schools and a local cycling club.",
        "Each sapling was tagged so that students can track its growth over the coming years.",
    ]


def test_desk_page_drops_menus_and_credit() -> None:
    out = clean_text(DESK)
    assert _paragraphs(out) == [
        "Dock workers at Port Alma returned to work on Wednesday after union leaders accepted"
        " a revised pay offer.",
        "The strike had halted container traffic for nine days.",
    ]


def test_feature_keeps_mid_body_list_and_drops_tail() -> None:
    assert _paragraphs(clean_text(FEATURE)) == [
        "Pyongyang has sent troops and shells, officials in Seoul say.",
        "Why now?",
        "Experts point to Russia's need for manpower as the war drags on.",
        "In numbers",
        "12,000 troops",
        "Millions of artillery shells",
        "The two leaders last met in Beijing in September.",
    ]


def test_feature_metadata() -> None:
    meta = text_metadata(FEATURE)
    assert meta.title == "Kim and Putin: an alliance forged in war"
    assert meta.byline == "Anna Schmidt and Lee Min-ho"
    assert meta.published == datetime(2026, 1, 10, tzinfo=UTC)
    assert meta.outlet is None


def test_plain_paragraphs_pass_through() -> None:
    text = "First line of the story is here.\nSecond line of the story is here too."
    assert clean_text(text) == (
        "First line of the story is here.\n\nSecond line of the story is here too."
    )


def test_question_headline_over_byline_is_dropped() -> None:
    text = (
        "Will the ferry run all winter?\n"
        "By Marta Quillon\n"
        "Posted 10:05 AM EST, Sat January 10, 2026\n\n"
        "The operator said on Friday that sailings would continue through the cold months.\n"
    )
    assert clean_text(text) == (
        "The operator said on Friday that sailings would continue through the cold months."
    )
    meta = text_metadata(text)
    assert meta.title == "Will the ferry run all winter?"
    assert meta.published == datetime(2026, 1, 10, 15, 5, tzinfo=UTC)


def test_opening_question_sentence_of_body_is_kept() -> None:
    text = "What happens when a town runs out of water?\nThe answer, engineers say, is grim.\n"
    assert clean_text(text) == (
        "What happens when a town runs out of water?\n\nThe answer, engineers say, is grim."
    )


def test_empty_text() -> None:
    assert clean_text("") == ""
    assert text_metadata("") == text_metadata("\n\n")


def test_body_sentences_that_mention_cue_words_survive() -> None:
    text = (
        "The mayor was published by a local press in 1999, long before politics.\n"
        "By the numbers\n"
        "Topics to watch include water and housing.\n"
        "He described the picture: a wall of water crashing through the square.\n"
    )
    out = clean_text(text)
    assert "By the numbers" in out
    assert "wall of water crashing" in out
    assert "Topics to watch" in out


# --- own fixtures: text_metadata --------------------------------------------------------


def test_gazette_metadata() -> None:
    meta = text_metadata(GAZETTE)
    assert meta.title == "Ferry service to resume after storm repairs, council says"
    assert meta.title_inferred is False
    assert meta.published == datetime(2024, 3, 4, 14, 15, tzinfo=UTC)
    assert meta.outlet == "Riverside Gazette"
    assert meta.byline == "Marta Quillon"


def test_dateline_metadata_infers_title() -> None:
    meta = text_metadata(DATELINE)
    assert meta.title == (
        "Volunteers planted more than 3,000 saplings along the river bank over the weekend."
    )
    assert meta.title_inferred is True
    # The 'date' line wins over the later 'Updated:' cue.
    assert meta.published == datetime(2024, 11, 2, tzinfo=UTC)
    assert meta.byline == "Tomas Brenner"
    assert meta.outlet is None


def test_desk_metadata() -> None:
    meta = text_metadata(DESK)
    assert meta.title == "Dock workers end strike after pay deal"
    assert meta.title_inferred is False
    assert meta.published == datetime(2025, 8, 13, 14, 42, tzinfo=UTC)
    assert meta.outlet == "Harbourview"
    assert meta.byline == "Ravi Anand"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Published: Jan 09, 2026, 07:32 IST", datetime(2026, 1, 9, 2, 2, tzinfo=UTC)),
        ("Published: August 13, 2025 12:11:43 IST", datetime(2025, 8, 13, 6, 41, 43, tzinfo=UTC)),
        ("Updated: 27-12-2025 03:05 IST", datetime(2025, 12, 26, 21, 35, tzinfo=UTC)),
        ("Posted on 2025-01-05T08:00:00+09:00", datetime(2025, 1, 4, 23, 0, tzinfo=UTC)),
        ("Published: 03/25/2025 4:05 pm EDT", datetime(2025, 3, 25, 20, 5, tzinfo=UTC)),
        ("Published: 5 juin 2025", datetime(2025, 6, 5, tzinfo=UTC)),  # dateparser fallback
    ],
)
def test_published_cues(line: str, expected: datetime) -> None:
    text = f"Harbour ferry timetable changes for spring\n{line}\n\nThe ferry runs daily now."
    assert text_metadata(text).published == expected


def test_created_beats_updated() -> None:
    text = (
        "Harbour ferry timetable changes for spring\n"
        "Updated: 2 March 2025 10:00 GMT | Created: 1 March 2025 09:00 GMT\n"
        "The ferry runs daily now."
    )
    assert text_metadata(text).published == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_outlet_not_guessed_from_photo_credit_or_wire() -> None:
    text = (
        "Harbour ferry timetable changes for spring\n"
        "The pier at dawn (Image source: Reuters)\n"
        "AFP\n"
        "The ferry now runs daily, the operator said on Monday.\n"
    )
    assert text_metadata(text).outlet is None


def test_byline_keeps_people_not_agency() -> None:
    text = "Harbour ferry timetable changes for spring\nBy Jane Doe, Reuters\nThe ferry runs daily."
    assert text_metadata(text).byline == "Jane Doe"


# --- seeds ------------------------------------------------------------------------------


def test_seed_001_keeps_paragraphs_and_subheads(seeds: Path) -> None:
    out = clean_text(_seed(seeds, "001"))
    paras = _paragraphs(out)
    assert "What did Kim say?" in paras
    assert "North Korea-Russia ties deepen with Kim-Putin bromance" in paras
    assert paras[-1].startswith("South Korean and Western intelligence agencies")
    assert any(p.startswith("The letter was sent in response") for p in paras)
    assert any(p.startswith("He said \"close cooperation\"") for p in paras)
    for junk in ("Edited By", "Published:", "Photograph: (AFP)", "Story highlights"):
        assert junk not in out, junk


def test_seed_002_related_article_header_keeps_next_paragraph(seeds: Path) -> None:
    out = clean_text(_seed(seeds, "002"))
    assert "full support" in out
    assert 'Kim "expressed firm conviction that the DPRK would always remain faithful' in out
    assert "DPRK is the acronym of North Korea's full name" in out
    for junk in (
        "Log in to Twitter", "More in North Korea", "Related Stories", "Related Article",
        "Don't overinterpret North's actions", "Russian flights suggest transfers",
        "[RODONG SINMUN]", "print dictionary", "To write comments", "Yonhap", "tags ",
    ):
        assert junk not in out, junk


def test_seed_003_drops_trending_and_footer(seeds: Path) -> None:
    out = clean_text(_seed(seeds, "003"))
    assert "precious common asset" in out
    assert "enter a new phase of collaboration" in out
    for junk in (
        "Jack Draper Withdraws", "info@devdiscourse.com", "Phone:", "Copyright", "Left Menu",
        "AI-generated", "Country:", "OPINION", "Terms of use", "Subscribe to our Newsletter",
    ):
        assert junk not in out, junk


def test_seed_004_keeps_all_body_paragraphs(seeds: Path) -> None:
    out = clean_text(_seed(seeds, "004"))
    for start in (
        "Russian President Vladimir Putin and North Korean leader Kim Jong Un have promised",
        "During a phone call on Tuesday, Putin thanked Kim",
        "Kim pledged that North Korea would stay loyal to the DPRK-Russia treaty",
        "Putin and Trump are scheduled to meet in Alaska on Friday",
        "US State Department spokesperson Tammy Bruce confirmed",
        "Putin has demanded that Ukraine give up the Donetsk and Luhansk regions",
        "White House spokeswoman Karoline Leavitt said",
    ):
        assert start in out, start
    for junk in ("LIVE TV", "Home > World", "Tags:", "Image source", "Published By"):
        assert junk not in out, junk


def test_seed_001_metadata(seeds: Path) -> None:
    meta = text_metadata(_seed(seeds, "001"))
    assert meta.title is not None
    assert meta.title.startswith(
        "Kim Jong Un has pledged unconditional support for Vladimir Putin, calling the ties"
    )
    assert meta.title_inferred is True
    assert meta.published == datetime(2026, 1, 9, 2, 2, tzinfo=UTC)  # 07:32 IST
    assert meta.byline == "Moohita Kaur Garg"
    assert meta.outlet is None


def test_seed_002_metadata(seeds: Path) -> None:
    meta = text_metadata(_seed(seeds, "002"))
    assert meta.title == (
        "North Korea's Kim voices 'full support' for Russia in phone talks with Putin"
    )
    assert meta.title_inferred is False
    assert meta.published == datetime(2025, 8, 13, tzinfo=UTC)
    assert meta.outlet == "Korea JoongAng Daily"
    assert meta.byline is None


def test_seed_003_metadata(seeds: Path) -> None:
    meta = text_metadata(_seed(seeds, "003"))
    assert meta.title == (
        "Kim Jong Un Extends New Year's Message to Putin, Celebrating DPRK-Russia Alliance"
    )
    assert meta.title_inferred is False
    assert meta.published == datetime(2025, 12, 27, tzinfo=UTC)
    assert meta.outlet == "Devdiscourse"


def test_seed_004_metadata(seeds: Path) -> None:
    meta = text_metadata(_seed(seeds, "004"))
    assert meta.title == (
        "Russia’s Putin Holds Call With North Korea’s Kim Jong Un Ahead Of Trump Meeting:"
        " Here’s What We Know"
    )
    assert meta.title_inferred is False
    assert meta.published == datetime(2025, 8, 13, tzinfo=UTC)
    assert meta.byline == "Shivam Verma"
    assert meta.outlet is None


def test_a_page_address_first_is_never_the_title_however_long() -> None:
    # Tokenised corpora keep the page's address as the first line, spaced out; a long one reads as prose.
    address = ("http : / / www . harbourgazette . example / news / local / ferry - crew - walks - out - over - "
               "new - rota - as - talks - stall - on - third - day / article - 20231104 . html")
    headline = "Ferry crew walk out over new rota as talks stall"
    meta = text_metadata(f"{address}\n{headline}\nThe crew of the island ferry walked off the boat on Friday .\n")
    assert meta.title == headline and not meta.title_inferred
    # With no headline line, the title is the first sentence of the text, not of the address.
    meta = text_metadata(f"{address}\nThe crew of the island ferry walked off the boat on Friday , union officials said .\n")
    assert meta.title is not None and meta.title.startswith("The crew of the island ferry") and meta.title_inferred
    assert "article" not in clean_text(f"{address}\n{headline}\nThe crew walked off on Friday .\n")


@pytest.mark.parametrize("text, title", [
    ("date 2025-03-04\nראש העיר פתח את הגשר החדש ביום שני בבוקר לאחר שנתיים של עבודות. התושבים התאספו על הגשר כדי לצפות בטקס.\n\n"
     "התושבים התאספו על הגשר כדי לצפות בטקס הפתיחה של הגשר.\n",
     "ראש העיר פתח את הגשר החדש ביום שני בבוקר לאחר שנתיים של עבודות."),
    ("date 2025-03-04\nقال وزير الخارجية يوم الثلاثاء إنه سيزور موسكو الأسبوع المقبل. هل ستنجح الزيارة؟ وأضاف أن الزيارة مهمة.\n\n"
     "وأضاف أن الزيارة تأتي في إطار تعزيز العلاقات الثنائية بين البلدين.\n",
     "قال وزير الخارجية يوم الثلاثاء إنه سيزور موسكو الأسبوع المقبل."),
])
def test_texts_in_scripts_without_case_get_an_inferred_title(text: str, title: str) -> None:
    meta = text_metadata(text)
    assert (meta.title, meta.title_inferred) == (title, True)
    assert meta.published == datetime(2025, 3, 4, tzinfo=timezone.utc)
    assert clean_text(text.split("\n", 1)[1]).count("\n\n") == 1  # both paragraphs kept as prose


def test_links_to_other_stories_and_a_page_stamp_are_not_text_or_title() -> None:
    text = (
        "8 November 2011 Last updated at 06:28 GMT\n\n"
        "Firefighters battled a wildfire near the town on Tuesday as strong winds spread the flames toward homes.\n\n"
        "Also read: Five ways to protect your home from wildfire smoke and embers this summer.\n\n"
        "Related: How to prepare an emergency go-bag before the fire season starts.\n\n"
        "Officials said the fire had burned more than 2,000 acres by the evening and crews expected rain overnight.\n"
    )
    assert text_metadata(text).title.startswith("Firefighters battled a wildfire")
    body = clean_text(text)
    assert "Also read" not in body and "go-bag" not in body and "Last updated" not in body
    assert body.count("\n\n") == 1
