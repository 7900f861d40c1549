-- Chinese and Japanese write words without spaces (Thai too), and Korean joins its particles to
-- them: the unicode61 tokenizer of the search shards takes a whole run of such characters for one
-- word, so a word was found only where a run began. Articles written in such a script are indexed
-- again here by trigram, where any three characters find every text that holds them (a shorter
-- word is looked for with LIKE in this table alone: store/search.py, search_cjk).
--
-- Which articles: those whose title and opening (300 characters) take more than two bytes a
-- character in UTF-8, as these scripts (three bytes a character) do and Latin, Greek or Cyrillic
-- text (one or two) does not. The test reads no more than the opening: a character class (GLOB)
-- over whole texts cost 0.4 ms an article. Every trigger repeats it, so the index holds exactly
-- the rows they select.
CREATE VIRTUAL TABLE articles_cjk USING fts5(
    title, text, content='articles_search', content_rowid='id', tokenize='trigram'
);
INSERT INTO articles_cjk (rowid, title, text)
SELECT id, title, text FROM articles AS a WHERE length(CAST(substr(COALESCE(a.title, '') || ' ' || COALESCE(a.text, ''), 1, 300) AS BLOB)) > 2 * length(substr(COALESCE(a.title, '') || ' ' || COALESCE(a.text, ''), 1, 300));

CREATE TRIGGER articles_cjk_insert AFTER INSERT ON articles WHEN length(CAST(substr(COALESCE(new.title, '') || ' ' || COALESCE(new.text, ''), 1, 300) AS BLOB)) > 2 * length(substr(COALESCE(new.title, '') || ' ' || COALESCE(new.text, ''), 1, 300)) BEGIN
    INSERT INTO articles_cjk (rowid, title, text) SELECT id, title, text FROM articles_search WHERE id = new.id;
END;
-- Removal repeats exactly what was indexed: the row before it changes, by the same test.
CREATE TRIGGER articles_cjk_delete BEFORE DELETE ON articles WHEN length(CAST(substr(COALESCE(old.title, '') || ' ' || COALESCE(old.text, ''), 1, 300) AS BLOB)) > 2 * length(substr(COALESCE(old.title, '') || ' ' || COALESCE(old.text, ''), 1, 300)) BEGIN
    INSERT INTO articles_cjk (articles_cjk, rowid, title, text) SELECT 'delete', id, title, text FROM articles_search WHERE id = old.id;
END;
CREATE TRIGGER articles_cjk_unindex BEFORE UPDATE OF title, text ON articles WHEN length(CAST(substr(COALESCE(old.title, '') || ' ' || COALESCE(old.text, ''), 1, 300) AS BLOB)) > 2 * length(substr(COALESCE(old.title, '') || ' ' || COALESCE(old.text, ''), 1, 300)) BEGIN
    INSERT INTO articles_cjk (articles_cjk, rowid, title, text) SELECT 'delete', id, title, text FROM articles_search WHERE id = old.id;
END;
CREATE TRIGGER articles_cjk_reindex AFTER UPDATE OF title, text ON articles WHEN length(CAST(substr(COALESCE(new.title, '') || ' ' || COALESCE(new.text, ''), 1, 300) AS BLOB)) > 2 * length(substr(COALESCE(new.title, '') || ' ' || COALESCE(new.text, ''), 1, 300)) BEGIN
    INSERT INTO articles_cjk (rowid, title, text) SELECT id, title, text FROM articles_search WHERE id = new.id;
END;
