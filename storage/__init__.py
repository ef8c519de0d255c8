"""The journal: SQLAlchemy models, the repository the rest of the code calls, and migrations.

Open it with `storage.database.open_storage(path)`; everything else goes
through the returned `storage.repository.Repository`.
"""
