-- The trip as the API serves it, its members, visibility and archived flag, beside each trip
-- view (the trip views projection fills them; version 4 rebuilds every view). Added here as
-- well so the tables that serve until that rebuild swaps in have the columns: a row without
-- `served` is read the slower way.
ALTER TABLE IF EXISTS trip_views
    ADD COLUMN IF NOT EXISTS served text,
    ADD COLUMN IF NOT EXISTS members jsonb,
    ADD COLUMN IF NOT EXISTS visibility text,
    ADD COLUMN IF NOT EXISTS archived boolean;
ALTER TABLE IF EXISTS trip_views__shadow
    ADD COLUMN IF NOT EXISTS served text,
    ADD COLUMN IF NOT EXISTS members jsonb,
    ADD COLUMN IF NOT EXISTS visibility text,
    ADD COLUMN IF NOT EXISTS archived boolean;
