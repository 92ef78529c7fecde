"""`newsarchive backup`: copy the archive while crawls run, or check a copy."""

from __future__ import annotations

from pathlib import Path

import click

from newsarchive.backup.service import BackupError, backup_archive, verify_backup
from newsarchive.commands.options import DB_OPTION, existing_archive


@click.command()
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@DB_OPTION
@click.option("--verify", is_flag=True,
              help="Check the backup DEST (integrity, every article whole); copy nothing.")
def backup(dest: Path, db: Path | None, verify: bool) -> None:
    """Copy the archive to DEST, safely while crawls and readers use it.

    The copy is one consistent moment of the archive (SQLite's online backup API), checked
    (integrity_check, every article with its page, URLs and index entries) and then
    renamed over DEST, so DEST is never half-written. It is one self-contained file.

    To restore: stop crawls and the scheduler, then copy the backup over the archive
    (and delete a leftover archive.db-wal and archive.db-shm beside it):

    \b
    Examples:
        newsarchive backup backups/archive-$(date +%F).db
        newsarchive backup --verify backups/archive-2026-12-02.db
        cp backups/archive-2026-12-02.db archive.db && rm -f archive.db-wal archive.db-shm
    """
    try:
        if verify:
            counts = verify_backup(dest)
            click.echo(f"{dest}: ok, {_counts(counts)}")
            return
        report = backup_archive(existing_archive(db), dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{report.path}: {report.size / 1e6:.1f} MB in {report.seconds:.1f} s, "
               f"checked ok, {_counts(report.counts)}")


def _counts(counts: dict[str, int]) -> str:
    runs = counts["crawl_runs"]
    return (f"{counts['articles']} articles, {counts['pages']} pages, "
            f"{counts['failures']} failures, {runs} run{'' if runs == 1 else 's'}")
