"""Options and checks every command shares."""

from __future__ import annotations

from pathlib import Path

import click

from archive import resolve_db_path

DB_OPTION = click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Archive file. Default: $NEWSARCHIVE_DB, else ./archive.db.")
SEEDS_OPTION = click.option(
    "--seeds", "seeds_dir", type=click.Path(file_okay=False, path_type=Path),
    default=Path("seeds"), show_default=True, help="Directory of seeds *.toml files.")


def existing_archive(db: Path | None) -> Path:
    """The archive's path; a clear error when there is none yet (reading commands)."""
    path = resolve_db_path(db)
    if not path.exists():
        raise click.ClickException(f"no archive at {path} (run `newsarchive crawl` first)")
    return path
