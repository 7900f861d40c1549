"""Format detection and parsing of local inputs."""

from __future__ import annotations

from datetime import datetime, timezone

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


@pytest.mark.parametrize(("names", "imported"), [(["a.txt", "b.md"], False), (["a.txt", "page.HTML"], True)])
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
