"""Format detection and parsing of local inputs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storyline import readers

POST = """---
title: "Lighthouse keepers return to Skerry Point - The Coastal Gazette"
date: 2024-06-03
description: "Two keepers will live at the light again"
link: 'https://example.org/skerry-point-keepers'
tags:
- 'lighthouse'
- 'skerry point'
---
The heritage trust said two keepers will live at Skerry Point lighthouse again from July, the first since 1987.
"""

LISTED = """---
title: "Ferry strike ends after talks - Harbour Times"
date: 2024-06-04T09:30:00Z
link: 'https://news.example.com/articles/ferry-1'
---
<ol><li><a href="https://news.example.com/articles/ferry-1" target="_blank">Ferry strike ends after talks</a>&nbsp;&nbsp;<font color="#6f6f6f">Harbour Times</font></li><li><a href="https://news.example.com/articles/ferry-2" target="_blank">Crews back at work as ferry dispute settled</a>&nbsp;&nbsp;<font color="#6f6f6f">Island Radio</font></li></ol>
"""


def test_markdown_post_front_matter():
    doc = readers.parse(POST.encode(), "/in/post.md", ".md").documents[0]
    assert doc.kind == "markdown"
    assert doc.title == "Lighthouse keepers return to Skerry Point"
    assert doc.outlet == "The Coastal Gazette"
    assert doc.published == datetime(2024, 6, 3, tzinfo=timezone.utc)
    assert doc.url == doc.key == "https://example.org/skerry-point-keepers"
    assert doc.tags == ["lighthouse", "skerry point"]
    assert "first since 1987" in doc.text and doc.linked == []


def test_markdown_coverage_list_becomes_linked_items_without_the_item_itself():
    doc = readers.parse(LISTED.encode(), "/in/listed.md", ".md").documents[0]
    assert doc.text == ""
    assert [(li.title, li.outlet, li.url) for li in doc.linked] == [
        ("Crews back at work as ferry dispute settled", "Island Radio", "https://news.example.com/articles/ferry-2")
    ]


def test_dated_text_file():
    text = "date 2024-02-01 Volunteers restore the old lighthouse\n\nVolunteers finished the work on Wednesday after a year of repairs to the tower and the lamp room.\n"
    doc = readers.parse(text.encode(), "/in/a.txt", ".txt").documents[0]
    assert doc.kind == "text" and doc.title == "Volunteers restore the old lighthouse"
    assert doc.published == datetime(2024, 2, 1, tzinfo=timezone.utc)
    assert doc.text.startswith("Volunteers finished the work")


@pytest.mark.parametrize(
    ("data", "suffix", "message"),
    [
        (b"", ".txt", "empty"),
        (b"\x00\x01\x02" * 100, ".txt", "binary"),
        (b"date 2024-01-01 Caf\xe9 closes", ".txt", "invalid UTF-8"),
        (b"%PDF-1.7", ".pdf", "unknown format"),
        (b'{"a": 1}', ".json", "not a JSON Feed"),
        (b"<rss><channel><item><title>x</item>", ".xml", "malformed XML"),
    ],
)
def test_bad_inputs_say_what_is_wrong(data, suffix, message):
    with pytest.raises(readers.InputError, match=message):
        readers.check_bytes(data, 1_000_000)
        readers.parse(data, "/in/bad" + suffix, suffix)


def test_detects_html_by_content_without_suffix():
    page = b"<!doctype html><html><head><title>x</title></head><body><p>hello</p></body></html>"
    assert readers.detect(page, "") == "html"


@pytest.mark.parametrize(
    ("names", "imported"), [(["a.xml", "b.json"], False), (["a.txt", "b.md"], True), (["a.rss", "page.HTML"], True)]
)
def test_preload_imports_the_page_extractor_only_for_pages(names, imported):
    # Run in a fresh interpreter: this one has long imported everything.
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from storyline import readers; "
        f"readers.preload([Path(n) for n in {names!r}]); print('storyline.extract' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(imported)


FRONT = "---\ntitle: Harbour wall repaired\n{extra}\n---\nMasons finished the new harbour wall at Kilmore on Friday, ahead of the winter storms.\n"


def test_front_matter_fields_of_other_types_are_read_as_text_or_passed_over():
    one_tag = readers.parse_markdown(FRONT.format(extra="tags: harbour\noutlet: 123\nlanguage: en"), "/in/a.md")
    assert one_tag.tags == ["harbour"] and one_tag.outlet == "123" and one_tag.language == "en"
    assert readers.parse_markdown(FRONT.format(extra="tags: 5"), "/in/b.md").tags == ["5"]
    authors = readers.parse_markdown(FRONT.format(extra='author: ["Jane Doe", "John Roe"]'), "/in/c.md")
    assert authors.byline == "Jane Doe, John Roe"  # Hugo's list of authors
    odd = readers.parse_markdown(FRONT.format(extra="language: [en, de]\noutlet: {name: Gazette}\ntags: {a: 1}"), "/in/d.md")
    assert (odd.language, odd.outlet, odd.tags, odd.title) == (None, None, [], "Harbour wall repaired")
    with pytest.raises(readers.InputError, match="bad YAML front matter"):  # YAML reads a time, Python refuses hour 25
        readers.parse_markdown(FRONT.format(extra="date: 2024-06-03 25:00:00"), "/in/bad.md")


def test_front_matter_aliases_are_refused_before_they_multiply():
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)
    ]
    post = "---\n" + "\n".join(levels) + "\ntitle: *a8\n---\nSome text about the harbour wall and its masons.\n"
    with pytest.raises(readers.InputError, match="aliases"):
        readers.parse_markdown(post, "/in/bomb.md")


BRIDGE = (
    '<!doctype html><html lang="de"><head><meta charset="{charset}"><title>Neue Brücke über die Mosel</title></head>'
    "<body><article><h1>Neue Brücke über die Mosel</h1><p>Die Gemeinde hat am Samstag die neue Fußgängerbrücke über"
    " die Mosel eröffnet, nach drei Jahren Bauzeit und einem langen Streit über die Kosten.</p><p>Viele Bürger kamen"
    " zur Eröffnung, und der Bürgermeister dankte den Handwerkern für ihre Geduld mit dem schwierigen Ufer.</p>"
    "</article></body></html>"
)


def write(tmp_path, name: str, data: bytes):
    """Write an input file and read it back the way ingest does."""
    path = tmp_path / name
    path.write_bytes(data)
    return readers.parse(readers.read_input(path, 1_000_000), str(path), path.suffix).documents[0]


@pytest.mark.parametrize(
    ("charset", "bom"), [("iso-8859-1", b""), ("windows-1252", b"\xef\xbb\xbf")], ids=["misdeclared", "utf8-bom"]
)
def test_utf8_page_is_read_as_utf8_whatever_charset_it_declares(tmp_path, charset, bom):
    doc = write(tmp_path, "bridge.html", bom + BRIDGE.format(charset=charset).encode("utf-8"))
    assert doc.title == "Neue Brücke über die Mosel" and "Fußgängerbrücke" in doc.text
    latin = write(tmp_path, "latin.html", BRIDGE.format(charset="iso-8859-1").encode("latin-1"))
    assert latin.title == "Neue Brücke über die Mosel"  # a page that is not UTF-8 still follows its declaration


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_wide_page_with_a_bom_is_read_not_refused_as_binary(tmp_path, encoding):
    doc = write(tmp_path, "bridge.html", BRIDGE.format(charset=encoding).encode(encoding))  # the codec writes a BOM
    assert doc.title == "Neue Brücke über die Mosel"


TOML_POST = """+++
title = "Night buses return to the valley - Valley Echo"
date = 2024-09-14T18:45:00+02:00
author = ["Ines Moreau", "Tom Hale"]
link = "https://valley.example/night-buses"
tags = ["transport", "night buses"]
+++
The regional council brought back three night bus routes on Saturday, two years after they were cut.
"""


def test_toml_front_matter_gives_the_fields_yaml_does(tmp_path):
    doc = write(tmp_path, "buses.md", TOML_POST.encode())
    assert doc.kind == "markdown"
    assert (doc.title, doc.outlet) == ("Night buses return to the valley", "Valley Echo")
    assert doc.published == datetime(2024, 9, 14, 18, 45, tzinfo=timezone(timedelta(hours=2)))
    assert doc.byline == "Ines Moreau, Tom Hale" and doc.tags == ["transport", "night buses"]
    assert doc.url == "https://valley.example/night-buses"
    assert doc.text == TOML_POST.split("+++\n")[-1].strip()
    with pytest.raises(readers.InputError, match="bad TOML front matter"):
        write(tmp_path, "broken.md", TOML_POST.replace('title = "', "title = ").encode())


RULED = (
    "The library reopens after the flood\n\n"
    "The town library opened its doors again on Monday, six months after the river flooded its ground floor"
    " and ruined much of the children's collection. Volunteers dried and sorted the books that could be saved.\n"
)


@pytest.mark.parametrize(
    "ruled",
    [
        "---\nLibrary news: the doors are open again\n---\n" + RULED,  # YAML reads a mapping of no front matter field
        "---\n" + RULED + "---\nShare this story\n",  # YAML reads one string
    ],
    ids=["mapping", "string"],
)
def test_text_between_rule_lines_is_plain_text_not_front_matter(tmp_path, ruled):
    doc = write(tmp_path, "library.txt", ruled.encode())
    assert doc.kind == "text" and doc.title and "six months after the river flooded" in doc.text


def test_unreadable_block_naming_no_field_is_text_but_broken_front_matter_is_reported(tmp_path):
    doc = write(tmp_path, "library.txt", ("---\nNews: in brief: the library\n---\n" + RULED).encode())
    assert doc.kind == "text" and "six months after the river flooded" in doc.text
    with pytest.raises(readers.InputError, match="bad YAML front matter"):
        write(tmp_path, "post.md", b"---\ntitle: [the library\ndate: 2024-03-02\n---\n" + RULED.encode())


@pytest.mark.parametrize(
    ("body", "language"),
    [
        (
            # ASCII, but Indonesian: the old rule called every ASCII text English
            "Pemerintah kota membuka kembali perpustakaan umum pada hari Senin, enam bulan setelah banjir merusak"
            " lantai bawah gedung itu. Para relawan mengeringkan buku-buku yang masih bisa diselamatkan.",
            None,
        ),
        (
            # English with a curly apostrophe, which is not ASCII
            "The town\u2019s library opened its doors again on Monday, six months after the river flooded the ground"
            " floor and ruined much of the children\u2019s collection that was kept there.",
            "en",
        ),
    ],
    ids=["indonesian", "curly-apostrophe"],
)
def test_plain_text_language_is_guessed_from_the_words(tmp_path, body, language):
    doc = write(tmp_path, "library.txt", f"date 2024-03-04 The library reopens\n\n{body}\n".encode())
    assert doc.language == language


def test_markdown_body_entities_are_decoded(tmp_path):
    post = "---\ntitle: Phone deal\n---\nAT&amp;T and the town&#8217;s council signed&nbsp;the deal &lt;today&gt;.\n"
    doc = write(tmp_path, "deal.md", post.encode())
    assert doc.text == "AT&T and the town\u2019s council signed the deal <today>."


def test_front_matter_with_other_fields_or_capitalised_names_is_front_matter(tmp_path):
    from storyline.readers import parse

    jekyll = "---\nlayout: post\npermalink: /schools\nheadline: Storm closes county schools\n---\n# Storm closes county schools\n\nAll schools stay shut on Monday.\n"
    capital = "---\nTitle: Ferry service resumes\nDate: 2024-05-03\n---\nThe ferry sails again from Monday morning.\n"
    for name, text, title in (("j.md", jekyll, "Storm closes county schools"), ("c.md", capital, "Ferry service resumes")):
        parsed = parse(text.encode(), str(tmp_path / name), ".md")
        assert parsed.fmt == "markdown" and parsed.documents[0].title == title, name
    assert parse(capital.encode(), "c.md", ".md").documents[0].published.date().isoformat() == "2024-05-03"
    assert "Storm closes county schools" in parse(jekyll.encode(), "j.md", ".md").documents[0].text  # the heading stays


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_a_text_file_in_utf16_or_utf32_with_a_bom_is_read(tmp_path, codec):
    from storyline.readers import parse

    text = "date 2024-05-03\nFerry service resumes after the storm\n\nThe ferry to the island sails again from Monday, the operator said.\n"
    data = ("\ufeff" + text).encode(codec) if codec == "utf-16-be" else text.encode(codec)  # Python's utf-16/32 write a BOM
    [doc] = parse(data, str(tmp_path / "f.txt"), ".txt").documents
    assert doc.title == "Ferry service resumes after the storm" and "sails again from Monday" in doc.text
    assert doc.published.date().isoformat() == "2024-05-03"


def test_a_folder_walk_leaves_out_licence_and_readme_files(tmp_path) -> None:
    (tmp_path / "posts").mkdir()
    for name in ("LICENSE", "COPYING-CC.TXT", "README.md", "posts/LICENCE.txt", "posts/.draft.md", "posts/pier.md"):
        (tmp_path / name).write_text(POST)
    for name in ("licensing-rules.md", "notice.html", "changes.md"):  # articles that only sound like notes
        (tmp_path / name).write_text(POST)
    found = [p.relative_to(tmp_path).as_posix() for p in readers.iter_files([tmp_path])]
    assert found == ["changes.md", "licensing-rules.md", "notice.html", "posts/pier.md"]
    assert list(readers.iter_files([tmp_path / "LICENSE"])) == [tmp_path / "LICENSE"]  # named: read as asked
