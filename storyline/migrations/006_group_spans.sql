-- The in-memory mirror of events and stories loads the groups of a stretch of days. Its query
-- (dated groups overlapping the stretch, or undated ones) read every group, because an OR across
-- two columns defeats an index: each load cost more as the archive grew. Each half now has an
-- index; the dated half's holds both ends of the span, so groups outside it are skipped unread.
CREATE INDEX events_span ON events (last_day, first_day) WHERE merged_into IS NULL;
CREATE INDEX stories_span ON stories (last_day, first_day) WHERE merged_into IS NULL;
CREATE INDEX events_undated ON events (id) WHERE first_day IS NULL AND merged_into IS NULL;
CREATE INDEX stories_undated ON stories (id) WHERE first_day IS NULL AND merged_into IS NULL;
-- The end-of-run refresh asks for stories to retitle a chunk at a time; without this every chunk read every story.
CREATE INDEX stories_dirty ON stories (dirty) WHERE dirty = 1;
