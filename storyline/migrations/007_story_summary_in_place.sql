-- Every stored article touches its event (count and last change), and each touch recounted the
-- whole story's summary from all its events: the biggest stories have thousands, so ingest slowed
-- as stories grew. A touch that changes only the count of a live event, and only moves its last
-- change forward, now adjusts the story's row in place; any other change recounts as before.
-- Both triggers test the same condition (NULL counts as false), so exactly one of them runs.
DROP TRIGGER story_summary_event_update;
CREATE TRIGGER story_summary_event_count AFTER UPDATE OF n_articles, updated_at ON events
WHEN COALESCE(new.story_id IS NOT NULL AND new.story_id IS old.story_id
  AND new.merged_into IS NULL AND old.merged_into IS NULL AND new.date IS old.date
  AND old.n_articles > 0 AND new.n_articles > 0
  AND (old.updated_at IS NULL OR new.updated_at >= old.updated_at), 0) BEGIN
    UPDATE story_summary SET
        n_articles = n_articles + new.n_articles - old.n_articles,
        updated_at = CASE WHEN updated_at IS NULL OR new.updated_at > updated_at THEN new.updated_at ELSE updated_at END
    WHERE story_id = new.story_id;
END;
CREATE TRIGGER story_summary_event_update AFTER UPDATE OF story_id, merged_into, n_articles, date, updated_at ON events
WHEN NOT COALESCE(new.story_id IS NOT NULL AND new.story_id IS old.story_id
  AND new.merged_into IS NULL AND old.merged_into IS NULL AND new.date IS old.date
  AND old.n_articles > 0 AND new.n_articles > 0
  AND (old.updated_at IS NULL OR new.updated_at >= old.updated_at), 0) BEGIN
    INSERT INTO story_summary_refresh SELECT old.story_id WHERE old.story_id IS NOT NULL;
    INSERT INTO story_summary_refresh SELECT new.story_id WHERE new.story_id IS NOT NULL AND new.story_id IS NOT old.story_id;
END;
