-- Storyline schema, version 1. Migrations are append-only: never edit a released one.

CREATE TABLE raw_inputs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    format TEXT NOT NULL,
    content BLOB NOT NULL,            -- zlib-compressed original bytes, so articles can be re-processed
    ingested_at TEXT NOT NULL,
    UNIQUE (source, sha256)
);

CREATE TABLE outlets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    domain TEXT
);

CREATE TABLE stories (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    signature TEXT NOT NULL DEFAULT '{}',  -- JSON term -> weight, for threading new events
    first_day TEXT,
    last_day TEXT,
    dirty INTEGER NOT NULL DEFAULT 1,     -- title needs recomputing
    merged_into INTEGER REFERENCES stories(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX stories_last_day ON stories (last_day);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    story_id INTEGER REFERENCES stories(id),
    title TEXT NOT NULL DEFAULT '',
    date TEXT,                        -- when it happened (YYYY-MM-DD)
    date_method TEXT,                 -- text | published
    date_evidence TEXT,
    summary TEXT NOT NULL DEFAULT '',
    first_day TEXT,                   -- earliest member date, for the assignment window
    last_day TEXT,
    signature TEXT NOT NULL DEFAULT '{}',
    n_articles INTEGER NOT NULL DEFAULT 0,
    dirty INTEGER NOT NULL DEFAULT 1,     -- title, date and summary need recomputing
    merged_into INTEGER REFERENCES events(id),  -- retired: its articles moved to this event
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX events_last_day ON events (last_day);
CREATE INDEX events_story ON events (story_id);
CREATE INDEX events_dirty ON events (dirty) WHERE dirty = 1;

CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    raw_id INTEGER REFERENCES raw_inputs(id),
    kind TEXT NOT NULL,               -- text | markdown | html | feed-item | linked
    source TEXT NOT NULL,
    url TEXT,
    title TEXT,
    title_inferred INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL DEFAULT '',
    description TEXT,
    published TEXT,
    outlet_id INTEGER REFERENCES outlets(id),
    byline TEXT,
    language TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    keywords TEXT NOT NULL DEFAULT '[]',
    text_hash TEXT,
    minhash BLOB,                     -- MinHash signature, to confirm near-duplicate candidates
    duplicate_of INTEGER REFERENCES articles(id),
    duplicate_kind TEXT,              -- exact | near
    listed_by INTEGER REFERENCES articles(id),   -- the aggregator item that listed this coverage
    merged_into INTEGER REFERENCES articles(id), -- linked coverage later found as a full text
    event_id INTEGER REFERENCES events(id),
    event_day TEXT,                   -- this article's own reading of when it happened
    event_day_method TEXT,
    event_day_evidence TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX articles_event ON articles (event_id);
CREATE INDEX articles_hash ON articles (text_hash);
CREATE INDEX articles_url ON articles (url);
CREATE INDEX articles_listed_by ON articles (listed_by);

CREATE TABLE minhash_bands (
    band INTEGER NOT NULL,
    hash INTEGER NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id)
);
CREATE INDEX minhash_bands_lookup ON minhash_bands (band, hash);

CREATE TABLE entities (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    UNIQUE (name, kind)
);

CREATE TABLE article_entities (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    count INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (article_id, entity_id)
);
CREATE INDEX article_entities_entity ON article_entities (entity_id);

CREATE TABLE quotes (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    text TEXT NOT NULL,
    speaker TEXT
);
CREATE INDEX quotes_article ON quotes (article_id);

-- What the entity recogniser learned (spaCy's verdicts on names), in order, so a restarted
-- process rebuilds the same lexicon and makes the same choices.
CREATE TABLE lexicon (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);

CREATE TABLE state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
