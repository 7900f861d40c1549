-- Live collection: subscriptions and their poll state, article pages to fetch, robots.txt, article history.
-- Migrations are append-only: never edit a released one.

CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    name TEXT,
    every_s INTEGER NOT NULL,         -- poll interval in seconds
    added_at TEXT NOT NULL,
    etag TEXT,                        -- validators of the last 200, for conditional GET
    last_modified TEXT,
    last_sha256 TEXT,                 -- body of the last 200: an identical body is not parsed again
    last_polled TEXT,
    last_success TEXT,
    last_status INTEGER,
    last_error TEXT,                  -- one line; kept after a later success so the history shows
    last_error_at TEXT,
    error_count INTEGER NOT NULL DEFAULT 0,  -- consecutive failures: the backoff grows with it
    next_poll REAL NOT NULL DEFAULT 0        -- unix time the feed is due
);
CREATE INDEX feeds_next_poll ON feeds (next_poll);

CREATE TABLE feed_items (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    first_seen TEXT NOT NULL,
    PRIMARY KEY (feed_id, article_id)
);
CREATE INDEX feed_items_article ON feed_items (article_id);

CREATE TABLE pages (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id),
    url TEXT NOT NULL,                -- where to fetch next: the feed's link, then where it redirected
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | done | failed | unresolved
    attempts INTEGER NOT NULL DEFAULT 0,
    hops INTEGER NOT NULL DEFAULT 0,  -- redirects to other hosts followed so far
    next_try REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    fetched_at TEXT
);
CREATE INDEX pages_due ON pages (next_try) WHERE state = 'pending';

CREATE TABLE robots (
    origin TEXT PRIMARY KEY,          -- scheme://host[:port]
    status INTEGER NOT NULL,          -- 0 when it could not be fetched
    body TEXT NOT NULL,
    fetched_at REAL NOT NULL
);

CREATE TABLE article_versions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    origin TEXT NOT NULL,             -- feed | page | file: what this version was read from
    title TEXT,
    description TEXT,
    text TEXT NOT NULL DEFAULT '',
    text_hash TEXT,
    published TEXT,
    seen_at TEXT NOT NULL
);
CREATE INDEX article_versions_article ON article_versions (article_id, id);

ALTER TABLE articles ADD COLUMN revisions INTEGER NOT NULL DEFAULT 0;  -- headline/text changes after first seen
ALTER TABLE articles ADD COLUMN updated_at TEXT;                       -- when the last one was seen
CREATE INDEX articles_source ON articles (source);
