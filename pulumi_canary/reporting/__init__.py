"""Reports for people: the pull-request preview summary and the live status table (pure formatting)."""
