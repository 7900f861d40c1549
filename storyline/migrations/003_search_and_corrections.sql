-- Full-text search over articles, and user corrections with their audit log.

-- External-content FTS5 index (Porter stems, so "pledges" finds "pledged"): the text lives once,
-- in articles; triggers keep the index in step with every writer, so ingest needs no change.
-- `flags` indexes what an article is, so the default search (originals only) and its total need
-- no lookup into the big articles rows: original | copy (a duplicate) | merged (listing found as a text).
CREATE VIEW articles_search AS
SELECT id, title, text,
       CASE WHEN merged_into IS NOT NULL THEN 'merged' WHEN duplicate_of IS NOT NULL THEN 'copy' ELSE 'original' END AS flags
FROM articles;
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, text, flags, content='articles_search', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, text, flags) SELECT id, title, text, flags FROM articles_search WHERE id = new.id;
END;
-- Removal must repeat exactly what was indexed, so it reads the row before it changes.
CREATE TRIGGER articles_fts_delete BEFORE DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, text, flags)
    SELECT 'delete', id, title, text, flags FROM articles_search WHERE id = old.id;
END;
-- Only changes to indexed values touch the index: event assignment and corrections are free.
CREATE TRIGGER articles_fts_unindex BEFORE UPDATE OF title, text, duplicate_of, merged_into ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, text, flags)
    SELECT 'delete', id, title, text, flags FROM articles_search WHERE id = old.id;
END;
CREATE TRIGGER articles_fts_reindex AFTER UPDATE OF title, text, duplicate_of, merged_into ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, text, flags) SELECT id, title, text, flags FROM articles_search WHERE id = new.id;
END;

-- Index-only reads of an event's coverage (published sits after the long text in the row).
CREATE INDEX articles_event_coverage ON articles (event_id, published, outlet_id, duplicate_of, merged_into);
CREATE INDEX articles_duplicate_of ON articles (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX articles_merged_into ON articles (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX events_merged_into ON events (merged_into) WHERE merged_into IS NOT NULL;
-- Index-only story lists and coverage counts (event rows carry long signatures).
CREATE INDEX events_live ON events (story_id, date, n_articles, updated_at) WHERE merged_into IS NULL;

-- Every user edit, kept for audit and so it can be replayed: what was asked and what changed.
CREATE TABLE corrections (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,             -- merge_events | move_article | split_event | merge_stories | split_story | rename_story
    params TEXT NOT NULL,             -- JSON: the request
    result TEXT NOT NULL DEFAULT '{}',  -- JSON: ids created or retired, article ids on each side
    created_at TEXT NOT NULL
);

-- Pairs a user separated: the pipeline's automatic merging must never join them again.
CREATE TABLE do_not_merge (
    kind TEXT NOT NULL,               -- events | stories
    a INTEGER NOT NULL,               -- the smaller id
    b INTEGER NOT NULL,
    correction_id INTEGER REFERENCES corrections(id),
    PRIMARY KEY (kind, a, b)
) WITHOUT ROWID;

-- A title a user gave a story wins over the computed one, whichever code writes the title later.
ALTER TABLE stories ADD COLUMN user_title TEXT;
CREATE TRIGGER stories_keep_user_title AFTER UPDATE OF title ON stories
WHEN new.user_title IS NOT NULL AND new.title IS NOT new.user_title BEGIN
    UPDATE stories SET title = new.user_title WHERE id = new.id;
END;
