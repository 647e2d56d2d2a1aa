-- Trip lists filter by status, role and dates.
ALTER TABLE user_trips ADD COLUMN status text NOT NULL DEFAULT 'draft';
CREATE INDEX user_trips_by_status ON user_trips (user_id, status, start_date, trip_id);
