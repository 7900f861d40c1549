-- Search is cut by article id into shards (store/base.py, CoreStore.close_full_search_shard): bm25
-- counts every row of each searched word in its index on every query, so a search of one index of
-- the whole archive cost more as the archive grew. Shard n indexes the articles from first_id on; a
-- closed shard stops some way past the next shard's first_id, and answers for its articles from its
-- own answers_from to the next shard's (the next one's warm-up is its). The last shard is open and
-- takes every later article. Shard 0 is the index of migration 003, open until the store closes it.
CREATE TABLE search_shards (
    n INTEGER PRIMARY KEY,            -- 0: articles_fts; n > 0: articles_fts_<n>
    first_id INTEGER NOT NULL,        -- the lowest article id it indexes
    answers_from INTEGER NOT NULL     -- the lowest article id a search takes from it
);
INSERT INTO search_shards (n, first_id, answers_from) VALUES (0, 0, 0);
