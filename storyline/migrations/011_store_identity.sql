-- A store's permanent identity, in the state table: Atom ids (publish/atom.py) are tag URIs that
-- must be universally unique (RFC 4287), and event and story ids are only unique within one store.
-- Made once, by this migration (a new store runs it at creation, an older one on its next open),
-- and never changed. A JSONL dump carries it (state rows are dumped), so an imported copy is the
-- same store to feed readers. store_created is when the store's first migration ran: the
-- `updated` time of a feed with nothing in it yet.
INSERT OR IGNORE INTO state (key, value) VALUES ('store_id', lower(hex(randomblob(16))));
INSERT OR IGNORE INTO state (key, value)
    VALUES ('store_created', COALESCE((SELECT MIN(applied_at) FROM schema_migrations), strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')));
