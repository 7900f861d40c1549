-- New articles are indexed for search when their transaction commits (store/index.py, index_pending),
-- no longer by a trigger as each is written. Once a transaction had written to an FTS5 index, FTS5
-- wrote its pending words out as a new segment at every statement savepoint, and nearly every later
-- statement of ingest opens one (a trigger, a foreign key): each article became a segment of its own,
-- with more merging to follow. Here an article waits in search_pending until the commit, which
-- indexes the transaction's articles together. The shards' and the CJK index's own triggers now pass
-- over a waiting article (its removal or change is already in what will be indexed); the store
-- rewrites them after this script (CoreStore._MIGRATION_STEPS: their names follow the shards).
CREATE TABLE search_pending (
    id INTEGER PRIMARY KEY           -- an article written in the open transaction, not yet indexed
);
CREATE TRIGGER search_pending_insert AFTER INSERT ON articles BEGIN
    INSERT OR IGNORE INTO search_pending (id) VALUES (new.id);
END;
-- AFTER: the shards' BEFORE DELETE triggers must still see that it was waiting, and skip it.
CREATE TRIGGER search_pending_delete AFTER DELETE ON articles BEGIN
    DELETE FROM search_pending WHERE id = old.id;
END;
