"""Online backups of the archive: `newsarchive backup` (newsarchive/backup/service.py)."""
