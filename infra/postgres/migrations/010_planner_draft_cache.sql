-- Itinerary drafts made for a request, by a key of the normalised request, the model and the
-- draft document's version: an identical request within the cache window is answered from
-- here instead of asking the model again. Expired rows are deleted as new ones are written.
CREATE TABLE planner_draft_cache (
    key       text PRIMARY KEY,
    document  jsonb NOT NULL,
    usage     jsonb NOT NULL,
    made_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON planner_draft_cache (made_at);
