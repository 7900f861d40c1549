-- Every stored article asks whether its event has listed coverage still waiting for its full text.
-- Without this index that question reads every article row (long texts included) of the event.
CREATE INDEX articles_unmerged_listings ON articles (event_id) WHERE kind = 'linked' AND merged_into IS NULL;
