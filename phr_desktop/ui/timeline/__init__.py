"""The year and month timeline: an id-only model and its view."""
