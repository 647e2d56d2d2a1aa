-- Finds the trip holding a destination or activity by containment (view @> ...).
CREATE INDEX trip_views_contents ON trip_views USING gin (view jsonb_path_ops);
