"""Options and checks every command shares."""

from __future__ import annotations

from datetime import UTC, datetime
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


def _parse_since(value: str, expected: str) -> tuple[datetime, bool]:
    """(the date or date-time, whether only a date was given); a clear error otherwise."""
    try:
        return datetime.fromisoformat(value.strip()), len(value.strip()) == 10
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected {expected}") from None


def since_as_written(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--since compared with published_at as stored (Beijing time for NetEase, as written)."""
    if value is None:
        return None
    parsed, date_only = _parse_since(value, "YYYY-MM-DD or YYYY-MM-DDTHH:MM")
    return parsed.date().isoformat() if date_only else parsed.isoformat()


def since_utc(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--since compared with fetch times, stored in UTC ISO 8601 (a naive time is UTC)."""
    if value is None:
        return None
    parsed, date_only = _parse_since(value, "YYYY-MM-DD or YYYY-MM-DDTHH:MM[+HH:MM]")
    if date_only:
        return parsed.date().isoformat()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()
