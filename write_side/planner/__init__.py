"""Itinerary drafts: the planner port, the offline scheduler, draft validation and the draft job."""
