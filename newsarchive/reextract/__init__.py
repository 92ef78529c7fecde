"""Re-running extraction over stored pages: an application service over crawler's pool
and the archive."""
