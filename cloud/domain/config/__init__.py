"""Configuration authoring: items per section with revisions, store overrides, push to hubs."""
