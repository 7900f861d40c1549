-- Per-story summaries the stories page and a story's header read instead of aggregating every event
-- and report on each request. Triggers keep them in step with every writer (ingest, corrections,
-- re-ingest, import), so no code path can leave them stale; they are derived, so dumps leave them out.

-- A story's live events (merged_into IS NULL AND n_articles > 0): counts, date span, latest change
-- and latest event (by date, undated last). One row per story with live events.
CREATE TABLE story_summary (
    story_id INTEGER PRIMARY KEY,
    n_events INTEGER NOT NULL,
    n_articles INTEGER NOT NULL,
    first_date TEXT,
    last_date TEXT,
    updated_at TEXT,
    latest_event INTEGER
);
-- The stories page: newest development first (NULL dates sort last when read backwards).
CREATE INDEX story_summary_recent ON story_summary (last_date, story_id);

-- Reports of a story's live events per outlet and per day (publication day, else the event's date).
CREATE TABLE story_outlet_counts (
    story_id INTEGER NOT NULL,
    outlet_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (story_id, outlet_id)
) WITHOUT ROWID;
CREATE TABLE story_day_counts (
    story_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (story_id, day)
) WITHOUT ROWID;

-- Reports of a story's live events per event date (the stories page's small charts).
CREATE TABLE story_event_days (
    story_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (story_id, day)
) WITHOUT ROWID;

-- A story's timeline page and its latest event straight from an index, in date order.
CREATE INDEX events_timeline ON events (story_id, date, id) WHERE merged_into IS NULL AND n_articles > 0;

-- Recomputing one story's summary: INSERT INTO story_summary_refresh VALUES (story_id).
CREATE VIEW story_summary_refresh AS SELECT NULL AS story_id;
CREATE TRIGGER story_summary_apply INSTEAD OF INSERT ON story_summary_refresh BEGIN
    DELETE FROM story_summary WHERE story_id = NEW.story_id;
    INSERT INTO story_summary (story_id, n_events, n_articles, first_date, last_date, updated_at, latest_event)
    SELECT story_id, COUNT(*), SUM(n_articles), MIN(date), MAX(date), MAX(updated_at), COALESCE(
        (SELECT id FROM events WHERE story_id = NEW.story_id AND merged_into IS NULL AND n_articles > 0
         AND date IS NOT NULL ORDER BY date DESC, id DESC LIMIT 1),
        (SELECT id FROM events WHERE story_id = NEW.story_id AND merged_into IS NULL AND n_articles > 0
         AND date IS NULL ORDER BY id DESC LIMIT 1))
    FROM events INDEXED BY events_live WHERE story_id = NEW.story_id AND merged_into IS NULL AND n_articles > 0
    GROUP BY story_id;
END;

CREATE TRIGGER story_summary_event_insert AFTER INSERT ON events WHEN new.story_id IS NOT NULL BEGIN
    INSERT INTO story_summary_refresh VALUES (new.story_id);
END;
CREATE TRIGGER story_summary_event_delete AFTER DELETE ON events WHEN old.story_id IS NOT NULL BEGIN
    INSERT INTO story_summary_refresh VALUES (old.story_id);
END;
CREATE TRIGGER story_summary_event_update AFTER UPDATE OF story_id, merged_into, n_articles, date, updated_at ON events BEGIN
    INSERT INTO story_summary_refresh SELECT old.story_id WHERE old.story_id IS NOT NULL;
    INSERT INTO story_summary_refresh SELECT new.story_id WHERE new.story_id IS NOT NULL AND new.story_id IS NOT old.story_id;
END;

-- An event's reports on its date, added (n > 0) or removed (n < 0): INSERT INTO story_event_day_changes VALUES (...).
CREATE VIEW story_event_day_changes AS SELECT NULL AS story_id, NULL AS day, NULL AS n;
CREATE TRIGGER story_event_day_apply INSTEAD OF INSERT ON story_event_day_changes BEGIN
    INSERT INTO story_event_days (story_id, day, n) SELECT NEW.story_id, NEW.day, NEW.n
    WHERE true ON CONFLICT DO UPDATE SET n = n + excluded.n;
    DELETE FROM story_event_days WHERE story_id = NEW.story_id AND day = NEW.day AND n = 0;
END;
CREATE TRIGGER story_event_days_insert AFTER INSERT ON events
WHEN new.story_id IS NOT NULL AND new.merged_into IS NULL AND new.n_articles > 0 AND new.date IS NOT NULL BEGIN
    INSERT INTO story_event_day_changes VALUES (new.story_id, new.date, new.n_articles);
END;
CREATE TRIGGER story_event_days_delete AFTER DELETE ON events
WHEN old.story_id IS NOT NULL AND old.merged_into IS NULL AND old.n_articles > 0 AND old.date IS NOT NULL BEGIN
    INSERT INTO story_event_day_changes VALUES (old.story_id, old.date, -old.n_articles);
END;
CREATE TRIGGER story_event_days_update AFTER UPDATE OF story_id, merged_into, n_articles, date ON events BEGIN
    INSERT INTO story_event_day_changes SELECT old.story_id, old.date, -old.n_articles
    WHERE old.story_id IS NOT NULL AND old.merged_into IS NULL AND old.n_articles > 0 AND old.date IS NOT NULL;
    INSERT INTO story_event_day_changes SELECT new.story_id, new.date, new.n_articles
    WHERE new.story_id IS NOT NULL AND new.merged_into IS NULL AND new.n_articles > 0 AND new.date IS NOT NULL;
END;

-- Adding (n = 1) or removing (n = -1) one report's share: INSERT INTO story_count_changes VALUES (...).
CREATE VIEW story_count_changes AS SELECT NULL AS story_id, NULL AS outlet_id, NULL AS day, NULL AS n;
CREATE TRIGGER story_count_apply INSTEAD OF INSERT ON story_count_changes BEGIN
    INSERT INTO story_outlet_counts (story_id, outlet_id, n) SELECT NEW.story_id, NEW.outlet_id, NEW.n
    WHERE NEW.outlet_id IS NOT NULL ON CONFLICT DO UPDATE SET n = n + excluded.n;
    DELETE FROM story_outlet_counts WHERE story_id = NEW.story_id AND outlet_id = NEW.outlet_id AND n = 0;
    INSERT INTO story_day_counts (story_id, day, n) SELECT NEW.story_id, NEW.day, NEW.n
    WHERE NEW.day IS NOT NULL ON CONFLICT DO UPDATE SET n = n + excluded.n;
    DELETE FROM story_day_counts WHERE story_id = NEW.story_id AND day = NEW.day AND n = 0;
END;

-- A report counts while it and its event are live and its event belongs to a story.
CREATE TRIGGER story_counts_article_insert AFTER INSERT ON articles
WHEN new.event_id IS NOT NULL AND new.merged_into IS NULL BEGIN
    INSERT INTO story_count_changes SELECT e.story_id, new.outlet_id, COALESCE(substr(new.published, 1, 10), e.date), 1
    FROM events e WHERE e.id = new.event_id AND e.merged_into IS NULL AND e.story_id IS NOT NULL;
END;
CREATE TRIGGER story_counts_article_delete AFTER DELETE ON articles
WHEN old.event_id IS NOT NULL AND old.merged_into IS NULL BEGIN
    INSERT INTO story_count_changes SELECT e.story_id, old.outlet_id, COALESCE(substr(old.published, 1, 10), e.date), -1
    FROM events e WHERE e.id = old.event_id AND e.merged_into IS NULL AND e.story_id IS NOT NULL;
END;
CREATE TRIGGER story_counts_article_update AFTER UPDATE OF event_id, merged_into, outlet_id, published ON articles
WHEN old.event_id IS NOT new.event_id OR old.merged_into IS NOT new.merged_into OR old.outlet_id IS NOT new.outlet_id
  OR old.published IS NOT new.published BEGIN
    INSERT INTO story_count_changes SELECT e.story_id, old.outlet_id, COALESCE(substr(old.published, 1, 10), e.date), -1
    FROM events e WHERE e.id = old.event_id AND old.merged_into IS NULL AND e.merged_into IS NULL AND e.story_id IS NOT NULL;
    INSERT INTO story_count_changes SELECT e.story_id, new.outlet_id, COALESCE(substr(new.published, 1, 10), e.date), 1
    FROM events e WHERE e.id = new.event_id AND new.merged_into IS NULL AND e.merged_into IS NULL AND e.story_id IS NOT NULL;
END;

-- An event's reports move with it between stories, in and out of retirement, and with its date.
CREATE TRIGGER story_counts_event_insert AFTER INSERT ON events
WHEN new.story_id IS NOT NULL AND new.merged_into IS NULL BEGIN
    INSERT INTO story_count_changes SELECT new.story_id, a.outlet_id, COALESCE(substr(a.published, 1, 10), new.date), 1
    FROM articles a WHERE a.event_id = new.id AND a.merged_into IS NULL;
END;
CREATE TRIGGER story_counts_event_delete AFTER DELETE ON events
WHEN old.story_id IS NOT NULL AND old.merged_into IS NULL BEGIN
    INSERT INTO story_count_changes SELECT old.story_id, a.outlet_id, COALESCE(substr(a.published, 1, 10), old.date), -1
    FROM articles a WHERE a.event_id = old.id AND a.merged_into IS NULL;
END;
CREATE TRIGGER story_counts_event_update AFTER UPDATE OF story_id, merged_into, date ON events
WHEN old.story_id IS NOT new.story_id OR old.merged_into IS NOT new.merged_into OR old.date IS NOT new.date BEGIN
    INSERT INTO story_count_changes SELECT old.story_id, a.outlet_id, COALESCE(substr(a.published, 1, 10), old.date), -1
    FROM articles a WHERE a.event_id = old.id AND a.merged_into IS NULL AND old.story_id IS NOT NULL AND old.merged_into IS NULL;
    INSERT INTO story_count_changes SELECT new.story_id, a.outlet_id, COALESCE(substr(a.published, 1, 10), new.date), 1
    FROM articles a WHERE a.event_id = new.id AND a.merged_into IS NULL AND new.story_id IS NOT NULL AND new.merged_into IS NULL;
END;

-- What is already stored.
INSERT INTO story_summary_refresh SELECT DISTINCT story_id FROM events WHERE story_id IS NOT NULL;
INSERT INTO story_event_days (story_id, day, n)
SELECT story_id, date, SUM(n_articles) FROM events WHERE story_id IS NOT NULL AND merged_into IS NULL AND n_articles > 0
AND date IS NOT NULL GROUP BY story_id, date;
INSERT INTO story_outlet_counts (story_id, outlet_id, n)
SELECT e.story_id, a.outlet_id, COUNT(*) FROM events e JOIN articles a ON a.event_id = e.id
WHERE e.story_id IS NOT NULL AND e.merged_into IS NULL AND a.merged_into IS NULL AND a.outlet_id IS NOT NULL
GROUP BY e.story_id, a.outlet_id;
INSERT INTO story_day_counts (story_id, day, n)
SELECT e.story_id, COALESCE(substr(a.published, 1, 10), e.date) AS day, COUNT(*) FROM events e JOIN articles a ON a.event_id = e.id
WHERE e.story_id IS NOT NULL AND e.merged_into IS NULL AND a.merged_into IS NULL
GROUP BY e.story_id, day HAVING day IS NOT NULL;
