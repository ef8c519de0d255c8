"""The ensemble's vote sources; each one is a small class with a `name` and an async `vote`."""
