"""HTML pages -> Document: main text, metadata, dates and decoding."""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta, timezone

import pytest

from storyline.extract import (
    ExtractError,
    decode_html,
    extract_date,
    extract_html,
    guess_language,
    parse_datetime,
    url_date,
)

PARAGRAPHS = [
    "The harbour authority in Port Ellery voted on Tuesday evening to close the old ferry pier for at "
    "least two years, after engineers found that several of its timber piles had rotted through.",
    "Councillors said the decision had been difficult, because the pier carries close to four hundred "
    "commuters every weekday morning and there is no other crossing within twenty kilometres of the town.",
    "A temporary landing stage will be built beside the fish market, the authority said, and the first "
    "boats should be able to use it by the end of the spring if the weather allows the divers to work.",
    "Residents who spoke at the meeting asked for a written timetable for the repairs and for a promise "
    "that the ticket prices would not rise while the crossing is slower and the boats run less often.",
]

ARTICLE = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Ferry pier to close for two years | The Ellery Courier</title>
<meta property="og:title" content="Ferry pier to close for two years">
<meta property="og:site_name" content="The Ellery Courier">
<meta property="og:description" content="Rotten piles force the harbour authority to shut the crossing.">
<meta name="author" content="Morag Lindqvist">
<link rel="canonical" href="https://courier.example.org/news/ferry-pier-closure">
<script type="application/ld+json">
{{"@context": "https://schema.org", "@type": "NewsArticle",
  "headline": "Ferry pier to close for two years",
  "datePublished": "2024-03-05T21:40:00+01:00",
  "author": {{"@type": "Person", "name": "Morag Lindqvist"}},
  "publisher": {{"@type": "Organization", "name": "Ellery Courier Ltd"}}}}
</script>
</head>
<body>
<header>
  <nav><ul>
    <li><a href="/">Home</a></li><li><a href="/news">News</a></li>
    <li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li>
  </ul></nav>
</header>
<main>
<article>
  <h1>Ferry pier to close for two years</h1>
  <h2>Rotten piles force the harbour authority to shut the crossing</h2>
  {"".join(f"<p>{text}</p>" for text in PARAGRAPHS)}
  <h3>Related stories</h3>
  <ul>
    <li><a href="/news/1">Harbour fees to rise next year</a></li>
    <li><a href="/news/2">New bus route planned for the east side</a></li>
  </ul>
</article>
</main>
<footer><p>Copyright 2024 The Ellery Courier. All rights reserved.</p>
<p><a href="/privacy">Privacy</a> <a href="/contact">Contact us</a></p></footer>
</body>
</html>
"""


def test_article_page_fields() -> None:
    doc = extract_html(ARTICLE, source="courier.html")
    assert doc.kind == "html"
    assert doc.source == "courier.html"
    assert doc.key == "courier.html"
    assert doc.title == "Ferry pier to close for two years"
    assert doc.text == "\n\n".join(PARAGRAPHS)
    assert doc.url == "https://courier.example.org/news/ferry-pier-closure"
    assert doc.published == datetime(2024, 3, 5, 20, 40, tzinfo=timezone.utc)
    assert doc.outlet == "The Ellery Courier"
    assert doc.byline == "Morag Lindqvist"
    assert doc.language == "en"
    assert doc.description == "Rotten piles force the harbour authority to shut the crossing."


def test_given_url_is_the_key_and_wins_over_canonical() -> None:
    doc = extract_html(ARTICLE, source="feed", url="https://mirror.example.net/pier")
    assert doc.key == "https://mirror.example.net/pier"
    assert doc.url == "https://mirror.example.net/pier"


def _bare_page(head: str = "", lang: str = "") -> str:
    """A page with only paragraphs in the body and the given head."""
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    return f"<html{lang}><head>{head}</head><body><div>{body}</div></body></html>"


def test_fallbacks_without_site_markup() -> None:
    page = _bare_page("<title>Pier news</title>")
    doc = extract_html(page, source="x", url="https://www.harbour-news.example.com/2024/03/05/pier")
    assert doc.outlet == "harbour-news.example.com"
    assert doc.title == "Pier news"
    # no markup date: the URL's day, at midnight UTC
    assert doc.published == datetime(2024, 3, 5, tzinfo=timezone.utc)
    assert doc.language == "en"  # guessed from the text
    assert doc.byline is None and doc.description is None


def test_publisher_names_the_outlet_when_og_site_name_is_missing() -> None:
    head = '<script type="application/ld+json">{"@graph": [{"@type": "WebSite"}, ' \
        '{"@type": "Article", "publisher": {"name": "Harbour Weekly"}, "author": [{"name": "A. Rowe"}, {"name": "B. Tan"}]}]}</script>'
    doc = extract_html(_bare_page(head), source="x")
    assert doc.outlet == "Harbour Weekly"
    assert doc.byline == "A. Rowe, B. Tan"


def test_no_main_text_raises() -> None:
    page = "<html><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav></body></html>"
    with pytest.raises(ExtractError):
        extract_html(page, source="empty.html")
    with pytest.raises(ExtractError):
        extract_html("", source="blank.html")


def test_bytes_use_declared_charset() -> None:
    text = "Le conseil a voté la fermeture du quai, déjà très abîmé, pour deux ans. " * 3
    page = f'<html><head><meta charset="iso-8859-1"></head><body><p>{text}</p><p>{text}</p></body></html>'
    doc = extract_html(page.encode("iso-8859-1"), source="fr.html")
    assert "déjà très abîmé" in doc.text


def test_decode_html() -> None:
    assert decode_html("café".encode()) == "café"
    assert decode_html("\ufeffcafé".encode("utf-16")) == "café"
    assert decode_html(b"\xef\xbb\xbfcaf\xc3\xa9") == "café"
    # undeclared and not UTF-8: replaced, not fatal
    assert decode_html(b"caf\xe9") == "caf\ufffd"
    assert decode_html(b'<meta charset="windows-1251">\xcc\xee\xf1\xea\xe2\xe0').endswith("Москва")


def test_parse_datetime() -> None:
    assert parse_datetime("2024-03-05T21:40:00Z") == datetime(2024, 3, 5, 21, 40, tzinfo=timezone.utc)
    assert parse_datetime("2024-03-05") == datetime(2024, 3, 5)
    assert parse_datetime("Tue, 05 Mar 2024 09:15:00 GMT") == datetime(2024, 3, 5, 9, 15, tzinfo=timezone.utc)
    assert parse_datetime("20240305T210000Z") == datetime(2024, 3, 5, 21, tzinfo=timezone.utc)
    assert parse_datetime("5") is None  # no year: dateutil would invent one
    assert parse_datetime("yesterday") is None


def test_zone_abbreviations_are_read_and_ambiguous_ones_left_naive() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dateutil warns (on the CLI's stderr) about names it does not know
        assert parse_datetime("Mar 5, 2024 9:15 PM EDT") == datetime(2024, 3, 6, 1, 15, tzinfo=timezone.utc)
        assert parse_datetime("2024-03-05 21:15 CET") == datetime(2024, 3, 5, 20, 15, tzinfo=timezone.utc)
        assert parse_datetime("05 Mar 2024 21:15 IST") == datetime(2024, 3, 5, 21, 15)  # India, Ireland or Israel
        assert parse_datetime("2024/03/05 21:15:00") == datetime(2024, 3, 5, 21, 15)


def test_url_date() -> None:
    assert url_date("https://x.example/2024/03/05/story") == date(2024, 3, 5)
    assert url_date("https://x.example/news/20240305/story") == date(2024, 3, 5)
    assert url_date("https://x.example/news/2024-03-05-story") == date(2024, 3, 5)
    assert url_date("https://x.example/2024/13/05/story") is None
    assert url_date("https://x.example/story-1202403051") is None
    assert url_date(None) is None


def _dated(head: str, url: str | None = None) -> datetime | None:
    return extract_date(_bare_page(head), url)


def test_meta_date_keeps_the_page_zone() -> None:
    moment = _dated('<meta property="article:published_time" content="2024-03-05T23:30:00-05:00">')
    assert moment is not None
    assert moment.date() == date(2024, 3, 5)
    assert moment.utcoffset() == timedelta(hours=-5)


def test_utc_stamp_moves_to_the_url_day() -> None:
    # stored in UTC just after midnight; the newsroom's URL still says the 5th
    head = '<meta property="article:published_time" content="2024-03-06T02:10:00Z">'
    moment = _dated(head, "https://x.example/2024/03/05/story")
    assert moment is not None
    assert moment.date() == date(2024, 3, 5)
    assert moment.astimezone(timezone.utc) == datetime(2024, 3, 6, 2, 10, tzinfo=timezone.utc)


def test_local_clock_twin_gives_the_zone() -> None:
    head = (
        '<meta property="article:published_time" content="2024-03-05T23:15:00Z">'
        "<script>var page = {publication_date: '2024-03-06 00:15'};</script>"
    )
    moment = _dated(head)
    assert moment is not None
    assert moment.date() == date(2024, 3, 6)
    assert moment.utcoffset() == timedelta(hours=1)


def test_zoned_stamp_beats_a_naive_clock_time() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2024-03-06T07:25:00"}</script>'
        '<meta name="parsely-pub-date" content="2024-03-05T21:25:00+00:00">'
    )
    assert _dated(head) == datetime(2024, 3, 5, 21, 25, tzinfo=timezone.utc)


def test_future_dates_are_ignored() -> None:
    head = '<meta property="article:published_time" content="2999-01-01T00:00:00Z">'
    assert _dated(head, "https://x.example/2024/03/05/story") == datetime(2024, 3, 5, tzinfo=timezone.utc)


def test_guess_language() -> None:
    assert guess_language(" ".join(PARAGRAPHS)) == "en"
    german = "Der Rat hat die Schließung beschlossen, und die Bürger sind mit der Entscheidung nicht zufrieden. " * 3
    assert guess_language(german) == "de"
    assert guess_language("too short") is None


@pytest.mark.parametrize("logo", [
    '<h1 class="site-title">Harbour Courier</h1>',
    '<h1 id="logo"><img src="/logo.png" alt="">Harbour Courier</h1>',
    '<a href="/"><h1>Harbour Courier</h1></a>',
    '<h1><a href="/">Harbour Courier</a></h1>',
])
def test_a_site_name_in_an_h1_is_no_headline(logo: str) -> None:
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    page = f"<html><head><title>Ferry pier to close for two years</title></head><body><header>{logo}</header><div>{body}</div></body></html>"
    assert extract_html(page, source="x").title == "Ferry pier to close for two years"
    # Without the logo the article's own h1 is still read before <title>.
    page = page.replace("<header>", "<header><h1>Pier to shut</h1>")
    assert extract_html(page, source="x").title == "Pier to shut"


def test_the_site_name_after_a_title_is_known_from_a_second_level_domain() -> None:
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    page = f"<html><head><title>Ferry pier to close - Harbourcourier</title></head><body><div>{body}</div></body></html>"
    doc = extract_html(page, source="x", url="https://www.harbourcourier.co.uk/news/pier")
    assert doc.title == "Ferry pier to close"  # the site is "harbourcourier", not "co"


GERMAN = [
    "Der Hafenrat von Port Ellery hat am Dienstag beschlossen, den alten Fähranleger für mindestens zwei "
    "Jahre zu schließen, und die Pendler sind mit der Entscheidung nicht zufrieden.",
    "Die Ingenieure haben festgestellt, dass viele der hölzernen Pfähle morsch sind, und der Rat will "
    "bis zum Frühjahr einen Anleger neben dem Fischmarkt bauen, der die Fähren aufnehmen kann.",
]


@pytest.mark.parametrize("lang, text, expected", [
    (' lang="en"', GERMAN, "de"),  # a template's lang="en" on a German page
    (' lang="de-DE"', GERMAN, "de"),
    (' lang="en"', PARAGRAPHS, "en"),
    (' lang="ca"', PARAGRAPHS, "ca"),  # a language without a word list here is taken as declared
])
def test_a_text_plainly_in_another_language_outweighs_the_declared_one(lang: str, text: list[str], expected: str) -> None:
    body = "".join(f"<p>{para}</p>" for para in text)
    doc = extract_html(f"<html{lang}><head><title>Pier</title></head><body><div>{body}</div></body></html>", source="x")
    assert doc.language == expected


def _assert_utc(moment: datetime | None, expected: datetime) -> None:
    """The same instant, still written in UTC (aware datetimes compare equal across zones)."""
    assert moment == expected
    assert moment is not None and moment.utcoffset() == timedelta(0)


def test_utc_stamp_reads_on_the_page_zone() -> None:
    # stored in UTC after midnight; the site's other stamps say it works five hours behind UTC
    head = (
        '<meta property="article:published_time" content="2024-03-06T02:10:00Z">'
        '<script>var schedule = [{"start": "2024-03-05T20:00:00-05:00"}, '
        '{"start": "Tue, 05 Mar 2024 22:00:00 -0500"}];</script>'
    )
    moment = _dated(head)
    assert moment is not None
    assert moment.date() == date(2024, 3, 5)
    assert moment.utcoffset() == timedelta(hours=-5)
    assert moment.astimezone(timezone.utc) == datetime(2024, 3, 6, 2, 10, tzinfo=timezone.utc)


def test_page_zone_needs_stamps_that_agree() -> None:
    # two zones on one page: the newsroom's is unknown, so the stamp stays in UTC
    head = (
        '<meta property="article:published_time" content="2024-03-06T02:10:00Z">'
        '<script>var items = ["2024-03-05T20:00:00-05:00", "2024-03-05T21:00:00+01:00"];</script>'
    )
    _assert_utc(_dated(head), datetime(2024, 3, 6, 2, 10, tzinfo=timezone.utc))


def test_time_ranges_are_not_zones() -> None:
    head = (
        '<meta property="article:published_time" content="2024-03-06T02:10:00Z">'
        "<script>var hours = 'Open 2024-03-05 09:00-10:00 and 2024 14:00-10:00';</script>"
    )
    _assert_utc(_dated(head), datetime(2024, 3, 6, 2, 10, tzinfo=timezone.utc))


def test_bare_day_in_page_data_gives_the_local_day() -> None:
    # the CMS writes the creation day in the newsroom's calendar; the stamp is the next UTC day
    head = (
        '<meta property="article:published_time" content="2024-03-06T01:40:00Z">'
        '<script>var page = {"DateCreation": "2024-03-05", "section": "city"};</script>'
    )
    moment = _dated(head)
    assert moment is not None
    assert moment.date() == date(2024, 3, 5)
    assert moment.astimezone(timezone.utc) == datetime(2024, 3, 6, 1, 40, tzinfo=timezone.utc)


def test_distant_bare_day_does_not_move_the_stamp() -> None:
    head = (
        '<meta property="article:published_time" content="2024-03-06T12:40:00Z">'
        '<script>var page = {"date_published": "2024-03-05"};</script>'
    )
    _assert_utc(_dated(head), datetime(2024, 3, 6, 12, 40, tzinfo=timezone.utc))


def _post_page(post: str, own_url: str = "") -> str:
    """A blog, forum or social post page: the given markup, then the paragraphs, no dated meta tags."""
    body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    head = f'<title>Pier thread</title><link rel="canonical" href="{own_url}">' if own_url else ""
    return f"<html><head>{head}</head><body>{post}<div>{body}</div></body></html>"


def test_permalink_unix_time_dates_the_post() -> None:
    # the clock shown is the reader's (4 Feb); the Unix time on the post's own link is 5 Feb in UTC;
    # the earlier post linked above it is another page and does not count
    post = (
        '<a href="/harbourwatch/posts/48102"><span data-time="1706000400">Jan 23</span></a>'
        '<a href="/harbourwatch/posts/48213" title="11:40 PM - 4 Feb 2024">'
        '<span data-time-ms="1707118800000">Feb 4</span></a>'
    )
    page = _post_page(post, "https://social.example/harbourwatch/posts/48213")
    moment = extract_date(page, "https://social.example/harbourwatch/posts/48213/photo/1")
    assert moment == datetime(2024, 2, 5, 7, 40, tzinfo=timezone.utc)


def test_permalink_time_element_dates_the_post() -> None:
    # a theme whose <time> has no "published" class: the bookmark link to the post itself tells it apart
    post = (
        '<aside><a href="https://pier.example/notes/winter-tides/"><time datetime="2024-01-10T08:00:00+01:00">'
        "10 January</time></a></aside>"
        '<a href="https://pier.example/notes/ferry-pier-closes/" rel="bookmark">'
        '<time class="entry-date" datetime="2024-03-05T18:20:00+01:00">5 March</time></a>'
    )
    page = _post_page(post, "https://pier.example/notes/ferry-pier-closes/")
    moment = extract_date(page, "https://pier.example/notes/ferry-pier-closes/?utm_source=feed")
    assert moment == datetime(2024, 3, 5, 18, 20, tzinfo=timezone(timedelta(hours=1)))


def test_front_page_link_is_no_permalink() -> None:
    # every page links its front page; on the front page itself that link dates nothing
    post = '<a href="/"><span data-timestamp="1706000400">Updated</span></a>'
    moment = extract_date(_post_page(post), "https://pier.example/")
    assert moment is None or moment.date() != date(2024, 1, 23)


def _ld(*blocks: str) -> str:
    """JSON-LD script tags, one per block, in the given order."""
    return "".join(f'<script type="application/ld+json">{block}</script>' for block in blocks)


_OLD_STORY = (
    '{"@type": "NewsArticle", "headline": "Lighthouse keeper retires", '
    '"datePublished": "2019-07-14T06:00:00Z", "author": {"@type": "Person", "name": "Ivo Brandt"}}'
)
_OWN_STORY = (
    '{"@type": "NewsArticle", "headline": "Ferry pier to close for two years", '
    '"datePublished": "2024-03-05T10:00:00Z", "author": {"@type": "Person", "name": "Morag Lindqvist"}}'
)


def test_own_article_beats_a_related_one_listed_in_an_earlier_block() -> None:
    related = (
        '{"@type": "WebPage", "mainEntity": {"@type": "ItemList", "itemListElement": '
        f'[{{"@type": "ListItem", "position": 1, "item": {_OLD_STORY}}}]}}}}'
    )
    doc = extract_html(_bare_page(_ld(related, _OWN_STORY)), source="x")
    assert doc.title == "Ferry pier to close for two years"
    assert doc.published == datetime(2024, 3, 5, 10, tzinfo=timezone.utc)
    assert doc.byline == "Morag Lindqvist"


def test_main_entity_beats_a_cited_article() -> None:
    page = f'{{"@type": "WebPage", "citation": {_OLD_STORY}, "mainEntity": {_OWN_STORY}}}'
    doc = extract_html(_bare_page(_ld(page)), source="x")
    assert doc.title == "Ferry pier to close for two years"
    assert doc.byline == "Morag Lindqvist"


def test_listed_articles_do_not_describe_a_list_page() -> None:
    listing = f'{{"@type": "ItemList", "itemListElement": [{_OLD_STORY}]}}'
    doc = extract_html(_bare_page("<title>Harbour news</title>" + _ld(listing)), source="x")
    assert doc.title == "Harbour news"
    assert doc.byline is None


def test_a_stray_byte_spoils_one_character_of_a_declared_charset_not_the_page():
    from storyline.extract import decode_html

    page = "<html><head><meta charset='windows-1252'></head><body><p>Le café de Genève</p></body></html>".encode("cp1252")
    assert "Le\ufffd café de Genève" in decode_html(page.replace(b"Le", b"Le\x81"))  # 0x81: undefined in cp1252
    tokyo = "<html><head><meta charset='shift_jis'></head><body><p>東京都の天気</p></body></html>".encode("shift_jis")
    assert "東京都の天気" in decode_html(tokyo.replace(b"</p>", b"\xff</p>"))
