"""Entities, keywords and quotes: the fast tier, the spaCy tier and "auto" between them."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyline.enrich import EnrichOptions, Enricher
from storyline.models import Entity, Quote

# An invented story, so every expected value below can be read off the text by hand.
TITLE = "Norway and Chile sign fisheries accord - Example News"
TEXT = """Norwegian Prime Minister Ingrid Solberg met Chilean Foreign Minister Tomas Varela in Geneva \
on Tuesday, the Nordic Press Agency (NPA) reported.

"We have agreed to protect the southern fisheries together for the next twenty years," Solberg \
told reporters after the talks.

She said the accord would be signed in Oslo in March. "Our fishing towns will finally get the \
certainty they were promised," she said.

The NPA said the accord "marks a new chapter of cooperation between two distant coastal nations."

Critics called the accord "a quiet giveaway" and Varela declined to comment.

According to Mr. Varela, "the quotas will be reviewed by independent scientists every five years."
"""

EXPECTED_QUOTES = [
    Quote("We have agreed to protect the southern fisheries together for the next twenty years", "Ingrid Solberg"),
    Quote("Our fishing towns will finally get the certainty they were promised", "Ingrid Solberg"),
    Quote("marks a new chapter of cooperation between two distant coastal nations.", "Nordic Press Agency"),
    Quote("the quotas will be reviewed by independent scientists every five years.", "Tomas Varela"),
]


@pytest.fixture(scope="module")
def spacy_enricher() -> Enricher:
    """One spaCy-tier enricher for the module; other tiers borrow its pipeline (one model load)."""
    return Enricher("spacy")


def seed_body(seeds: Path, name: str, first_words: str) -> str:
    """The article body of a seed file, from the paragraph that starts with `first_words`."""
    text = (seeds / name).read_text(encoding="utf-8")
    return text[text.index(first_words) :]


def kinds(entities: list[Entity]) -> dict[str, str]:
    return {e.name: e.kind for e in entities}


def test_fast_entities_are_merged_typed_and_counted() -> None:
    result = Enricher("fast").enrich(TITLE, TEXT)
    assert [(e.name, e.kind, e.count) for e in result.entities] == [
        ("Nordic Press Agency", "org", 3),  # + "NPA" twice, matched by its initials
        ("Tomas Varela", "person", 3),  # + "Varela", "Mr. Varela"
        ("Ingrid Solberg", "person", 2),  # + "Solberg"
        ("Chile", "place", 1),  # "Chilean"
        ("Geneva", "place", 1),
        ("Norway", "place", 1),  # "Norwegian"
        ("Oslo", "place", 1),  # unknown, but "in Oslo"
    ]


def test_quotes_with_named_pronoun_org_and_according_to_speakers() -> None:
    assert Enricher("fast").enrich(TITLE, TEXT).quotes == EXPECTED_QUOTES


@pytest.mark.parametrize("ner", ["fast", "auto"])
def test_a_title_and_name_opening_a_sentence_keep_the_name_and_its_quote(ner: str) -> None:
    text = ('"We will rebuild the bridge before the winter comes," Governor Mary Jones said. Mayor John Smith agreed. '
            '"It will take us at least six long months," he said.')
    result = Enricher(ner).enrich("Bridge to be rebuilt", text)
    assert [(q.text[:20], q.speaker) for q in result.quotes] == [("We will rebuild the ", "Mary Jones"), ("It will take us at l", "John Smith")]
    assert {e.name for e in result.entities if e.kind == "person"} == {"Mary Jones", "John Smith"}
    # A title word that opens other names too is still dropped at a sentence's start.
    assert [(e.name, e.kind) for e in Enricher(ner).enrich("Plant", "General Motors said it would build a plant.").entities] == [
        ("General Motors", "org")]
    # ... and so is one that opens other names: "Executive Order" is no person.
    order = Enricher(ner).enrich("Order", "Executive Order 14100 was signed by Governor Mary Jones in Denver.").entities
    assert {(e.name, e.kind) for e in order if e.kind == "person"} == {("Mary Jones", "person")}


@pytest.mark.parametrize("ner", ["fast", "auto"])
def test_a_company_named_like_a_title_and_its_spokesman_are_speakers(ner: str) -> None:
    text = ('Sales at the carmaker fell in the spring. "We expect the plants to be busy again by the autumn," '
            'General Motors said on Tuesday. "The new models have been ordered by dealers across the country," '
            'said General Motors spokesman Tom Wilkinson. Its rival Ford Motor Co cut its own forecast.')
    result = Enricher(ner).enrich("Carmaker expects recovery", text)
    assert [(q.text[:20], q.speaker) for q in result.quotes] == [
        ("We expect the plants", "General Motors"), ("The new models have ", "Tom Wilkinson")]
    kinds = {e.name: e.kind for e in result.entities}
    assert kinds["General Motors"] == "org" and kinds["Ford Motor Co"] == "org" and kinds["Tom Wilkinson"] == "person"


def test_scare_quotes_are_not_quotes() -> None:
    quotes = Enricher("fast").enrich(TITLE, TEXT).quotes
    assert all("giveaway" not in q.text for q in quotes)


def test_keywords_are_lowercase_salient_terms() -> None:
    keywords = Enricher("fast").enrich(TITLE, TEXT).keywords
    assert 5 <= len(keywords) <= 10
    assert keywords[:2] == ["accord", "fisheries"]
    assert all(k == k.lower() and not k.isdigit() for k in keywords)
    assert not {"the", "said", "and", "twenty"} & set(keywords)


def test_keywords_prefer_repeated_phrases() -> None:
    text = (
        "Officials said the oil spill had spread along the coast. Crews worked to contain the oil "
        "spill overnight, and fishermen said the oil spill had closed their grounds. Cleanup crews "
        "expect the work to take months."
    )
    keywords = Enricher("fast").enrich("", text).keywords
    assert keywords[0] == "oil spill"
    assert "crews" in keywords
    assert "oil" not in keywords and "spill" not in keywords  # covered by the phrase


def test_korean_names_possessives_acronyms_and_demonyms() -> None:
    text = (
        "North Korean leader Kim Jong-un met officials in Pyongyang, North Korea's state media said.\n\n"
        "Kim said the DPRK-Russia treaty would last. North Korea's Kim Jong Un also praised Russian "
        "President Vladimir Putin, and Putin replied within a day."
    )
    entities = Enricher("fast").enrich("", text).entities
    assert kinds(entities) == {
        "North Korea": "place",  # "North Korean", "North Korea's" twice, "DPRK"
        "Kim Jong Un": "person",
        "Russia": "place",  # "Russia" in "DPRK-Russia", "Russian"
        "Vladimir Putin": "person",
        "Pyongyang": "place",
    }
    counts = {e.name: e.count for e in entities}
    assert counts == {"North Korea": 4, "Kim Jong Un": 3, "Russia": 2, "Vladimir Putin": 2, "Pyongyang": 1}
    assert entities[0].name == "North Korea"  # sorted by count


def test_title_only_article_finds_known_names() -> None:
    result = Enricher("fast").enrich("Russia's Putin Meets Chinese Leader In Beijing", "")
    assert {"Russia", "China", "Beijing"} <= set(kinds(result.entities))
    assert result.quotes == []


def test_empty_article() -> None:
    result = Enricher("fast").enrich("", "")
    assert result.entities == [] and result.keywords == [] and result.quotes == []


def test_learned_lexicon_types_names_the_chunker_cannot() -> None:
    text = "Shares rose after Quorvex reported higher sales, and Quorvex plans to hire."
    enricher = Enricher("fast")
    assert enricher.enrich("", text).entities == []  # a lone unknown word: no guess
    enricher.learn("Quorvex", "org")
    assert enricher.enrich("", text).entities == [Entity("Quorvex", "org", 2)]
    with pytest.raises(ValueError):
        enricher.learn("Quorvex", "company")


def test_bad_ner_mode() -> None:
    with pytest.raises(ValueError):
        Enricher("fastest")


def test_spacy_tier_on_own_story(spacy_enricher: Enricher) -> None:
    result = spacy_enricher.enrich(TITLE, TEXT)
    found = kinds(result.entities)
    for name, kind in [("Ingrid Solberg", "person"), ("Tomas Varela", "person"), ("Norway", "place"),
                       ("Chile", "place"), ("Geneva", "place")]:
        assert found.get(name) == kind
    assert result.quotes[:2] == EXPECTED_QUOTES[:2]
    assert result.quotes[3] == EXPECTED_QUOTES[3]


def test_auto_runs_spacy_within_budget_and_learns(spacy_enricher: Enricher) -> None:
    enricher = Enricher("auto", EnrichOptions(spacy_every=100, warmup=1))
    items = [(TITLE, TEXT)] * 5
    results = enricher.enrich_many(items)
    assert enricher.spacy_runs == 1  # warm-up allowance only
    assert enricher.lexicon["Ingrid Solberg"]["person"] >= 1
    assert all(r.quotes == EXPECTED_QUOTES for r in results)


def test_seed_001_kim_letter(seeds: Path) -> None:
    body = seed_body(seeds, "001_263bf7f380e4d1eb.txt", "North Korean leader Kim Jong Un has pledged")
    result = Enricher("fast").enrich("North Korea's Kim pledges support for Putin", body)
    letter = [q for q in result.quotes if q.text.startswith("I will unconditionally respect")]
    assert len(letter) == 1 and letter[0].speaker == "Kim Jong Un"
    assert Quote("This choice will be constant and permanent.", "Kim Jong Un") in result.quotes
    assert all(len(q.text.split()) >= 6 for q in result.quotes)  # not "permanent", "comradely"
    found = kinds(result.entities)
    assert found["Kim Jong Un"] == "person" and found["Vladimir Putin"] == "person"
    assert found["North Korea"] == "place" and found["Russia"] == "place"
    assert not {"Kim", "Putin", "North Korean", "North Korea's"} & set(found)
    assert "unconditionally" not in result.keywords or len(result.keywords) <= 10


def test_seed_002_agency_speaker_and_korean_name(seeds: Path) -> None:
    body = seed_body(seeds, "002_96783d945c5aee5b.txt", "North Korean leader Kim Jong-un has expressed")
    result = Enricher("fast").enrich("", body)
    assert result.quotes[0].text.startswith("expressed firm conviction that the DPRK")
    assert result.quotes[0].speaker == "Korean Central News Agency"
    found = kinds(result.entities)
    assert found["Kim Jong Un"] == "person" and "Kim Jong-un" not in found
    assert found["Korean Central News Agency"] == "org" and "KCNA" not in found


def test_seed_004_speakers_and_entities(seeds: Path) -> None:
    body = seed_body(seeds, "004_6bc7aac101e49d55.txt", "Russian President Vladimir Putin and North")
    body = body[: body.index("Tags:")]
    result = Enricher("fast").enrich("", body)
    assert [q.speaker for q in result.quotes] == ["Korean Central News Agency", "Karoline Leavitt"]
    found = kinds(result.entities)
    for name, kind in [("Donald Trump", "person"), ("Tammy Bruce", "person"), ("Karoline Leavitt", "person"),
                       ("Volodymyr Zelenskyy", "person"), ("Alaska", "place"), ("Kremlin", "org"),
                       ("White House", "org"), ("United States", "place")]:
        assert found.get(name) == kind, name


def test_seed_spacy_tier_agrees_on_main_names(seeds: Path, spacy_enricher: Enricher) -> None:
    body = seed_body(seeds, "001_263bf7f380e4d1eb.txt", "North Korean leader Kim Jong Un has pledged")
    result = spacy_enricher.enrich("", body)
    found = kinds(result.entities)
    assert {e.name for e in result.entities[:3]} == {"Kim Jong Un", "North Korea", "Russia"}
    assert found["Vladimir Putin"] == "person" and "Kim-Putin" not in found
    assert any(q.speaker == "Kim Jong Un" and q.text.startswith("I will") for q in result.quotes)


def test_replayed_lessons_rebuild_the_same_auto_lexicon(spacy_enricher: Enricher) -> None:
    # Two articles introduce names the fast tier cannot type; spaCy (auto) teaches the lexicon.
    first = [
        ("Harbour board meets", "Councillor Mirela Vostrikova told the Tallowmere Harbour Board on Monday that "
         "the Ostrander Shipping Group would move its depot. Vostrikova said the Quayside Trust agreed."),
        ("Depot move approved", "The Ostrander Shipping Group and the Quayside Trust signed the plan, "
         "Mirela Vostrikova said, after Tallowmere residents objected to night traffic."),
    ]
    later = ("Night traffic curbed", "Vostrikova said Ostrander Shipping Group lorries will avoid Tallowmere at night.")
    live = Enricher(ner="auto", options=EnrichOptions(warmup=2, min_unknown=1))
    for title, text in first:
        live.enrich(title, text)
    assert live.learned, "auto should have asked spaCy about the unknown names"
    restarted = Enricher(ner="auto", options=EnrichOptions(warmup=2, min_unknown=1))
    restarted.replay(list(live.learned), live.seen, live.spacy_runs)
    assert restarted.enrich(*later) == live.enrich(*later)
    fresh = Enricher(ner="fast")
    assert fresh.enrich(*later) != live.enrich(*later)


def test_enrichers_share_one_loaded_model(spacy_enricher: Enricher) -> None:
    # Loading costs ~0.5 s: a second Enricher (a new Pipeline, a reset after a rollback) must not pay it again.
    assert Enricher("auto").nlp is spacy_enricher.nlp
    before = spacy_enricher.enrich(TITLE, TEXT)
    Enricher("spacy").enrich(TITLE, TEXT + " Oslo welcomed Mirela Vostrikova.")
    assert spacy_enricher.enrich(TITLE, TEXT) == before  # another Enricher's documents leave no trace


@pytest.mark.parametrize("ner", ["fast", "auto"])
def test_names_opening_a_sentence_and_chief_titles(ner: str) -> None:
    e = Enricher(ner)
    result = e.enrich("Trump signs order on tariffs", "Donald Trump signed an order on Monday raising tariffs on steel. "
                      "Joe Biden met Angela Merkel in Berlin.")
    assert {"Donald Trump", "Joe Biden", "Angela Merkel"} <= {x.name for x in result.entities if x.kind == "person"}
    for text, speaker in [
        ('"We will rebuild the station before the winter storms arrive here," said Fire Chief Kristin Crowley.', "Kristin Crowley"),
        ('"The court will hear the case in full next term, not before then," said Chief Justice John Roberts.', "John Roberts"),
        ('"Officers will patrol the area every night this week and next," said Police Chief Michel Moore.', "Michel Moore"),
        # "Chief Executive" and "Chief Executive Officer" are titles as a whole, not words of the name.
        ('"Our sales in Asia doubled over the last year alone," said Lumen Chief Executive Hana Ortiz.', "Hana Ortiz"),
        ('"We will open four more plants before the summer," Chief Executive Officer Dario Lenz said.', "Dario Lenz"),
    ]:
        found = e.enrich("Update", text)
        assert [q.speaker for q in found.quotes] == [speaker]
        assert (speaker, "person") in {(x.name, x.kind) for x in found.entities}


def test_he_and_she_go_to_the_last_person_their_given_name_allows() -> None:
    e = Enricher("fast")
    cases = [
        ('German Chancellor Angela Merkel met President Joe Biden in Berlin on Monday. '
         '"We agreed on a common path for the alliance," she said.', "Angela Merkel"),
        ('President Joe Biden met Chancellor Angela Merkel in Berlin on Monday. '
         '"We agreed on a common path for the alliance," he said.', "Joe Biden"),
        ('Senator Robin Vale met Governor Mary Jones on Monday. "We agreed on a common path for the state," he said.',
         "Robin Vale"),  # a name either may have: still the last person before Mary Jones allows
    ]
    for text, speaker in cases:
        assert [q.speaker for q in e.enrich("Talks", text).quotes] == [speaker]


@pytest.mark.parametrize("ner", ["fast", "auto"])
def test_long_country_names_and_whom_a_titled_person_serves(ner: str) -> None:
    e = Enricher(ner)
    for text in (
        "The Democratic People's Republic of Korea fired two missiles into the sea on Sunday.",
        "The Democratic People’s Republic of Korea fired two missiles into the sea on Sunday.",
        "The launch was announced by the Democratic People's Republic of Korea on Sunday.",
    ):
        places = {x.name for x in e.enrich("Launch", text).entities if x.kind == "place"}
        assert places == {"North Korea"}, text  # not South Korea, from its last three words
    # The words before a title name the county or company the person serves, not another person.
    found = e.enrich("Arrest", "Monte Rosa Sheriff Dario Lenz said the suspect was held overnight.").entities
    assert [x.name for x in found if x.kind == "person"] == ["Dario Lenz"]


@pytest.mark.parametrize("ner", ["fast", "auto"])
def test_titles_before_companies_and_orders_and_known_names_in_long_runs(ner: str) -> None:
    e = Enricher(ner)

    def people(text: str) -> set[str]:
        return {x.name for x in e.enrich("Update", text).entities if x.kind == "person"}

    # After "Chief Executive of" comes the company, not a person.
    assert "Harbour Freight Lines" not in people("Mara Quist, Chief Executive of Harbour Freight Lines, said cargo fell.")
    assert people("The governor signed an Executive Order on Monday in Denver.") == set()  # no person "Order"
    assert people("Chief Financial Officer Dario Lenz said costs rose.") == {"Dario Lenz"}
    assert people("Chief Operating Officer Hana Ortiz said the plant reopened.") == {"Hana Ortiz"}
    # A known name inside a long capitalised run is still found.
    places = {x.name for x in e.enrich("Bank", "Bankers called it a kind of Switzerland of the North Atlantic.").entities
              if x.kind == "place"}
    assert "Switzerland" in places
