-- The default search leaves out copies and merged listings. Said in the MATCH (NOT flags : ...), it
-- made bm25 count every copy in the index on every query: most of the work of a search for a rare
-- word (2.1 of 2.4 ms at 100,000 articles). The ids of hidden articles, in a table of their own that
-- each match probes, leave the matches and their scores as they were.
CREATE TABLE search_hidden (
    id INTEGER PRIMARY KEY,           -- an article
    kind TEXT NOT NULL                -- copy | merged
);
INSERT INTO search_hidden (id, kind)
    SELECT id, CASE WHEN merged_into IS NOT NULL THEN 'merged' ELSE 'copy' END FROM articles
    WHERE merged_into IS NOT NULL OR duplicate_of IS NOT NULL;
CREATE TRIGGER search_hidden_insert AFTER INSERT ON articles
WHEN new.merged_into IS NOT NULL OR new.duplicate_of IS NOT NULL BEGIN
    INSERT OR REPLACE INTO search_hidden (id, kind)
    VALUES (new.id, CASE WHEN new.merged_into IS NOT NULL THEN 'merged' ELSE 'copy' END);
END;
CREATE TRIGGER search_hidden_update AFTER UPDATE OF duplicate_of, merged_into ON articles BEGIN
    DELETE FROM search_hidden WHERE id = old.id;
    INSERT INTO search_hidden (id, kind)
    SELECT new.id, CASE WHEN new.merged_into IS NOT NULL THEN 'merged' ELSE 'copy' END
    WHERE new.merged_into IS NOT NULL OR new.duplicate_of IS NOT NULL;
END;
CREATE TRIGGER search_hidden_delete AFTER DELETE ON articles BEGIN
    DELETE FROM search_hidden WHERE id = old.id;
END;
