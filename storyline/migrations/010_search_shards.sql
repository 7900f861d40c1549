-- Search is cut by article id into shards (store/base.py, CoreStore.close_full_search_shard): bm25
-- counts every row of each searched word in its index on every query, so a search of one index of
-- the whole archive cost more as the archive grew. Shard n holds the articles of ids first_id up to
-- the next shard's first_id; the last one is open and takes every later article. Shard 0 is the
-- index of migration 003, open until the store first closes it.
CREATE TABLE search_shards (
    n INTEGER PRIMARY KEY,            -- 0: articles_fts; n > 0: articles_fts_<n>
    first_id INTEGER NOT NULL         -- the lowest article id it holds
);
INSERT INTO search_shards (n, first_id) VALUES (0, 0);
