"""The SQLite archive: schema and migrations, writes, and the queries the CLI reads."""

from archive.db import DEFAULT_DB, open_archive, resolve_db_path

__all__ = ["DEFAULT_DB", "open_archive", "resolve_db_path"]
