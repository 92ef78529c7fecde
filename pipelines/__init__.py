"""Processing stages between a fetched response and the archive: decode, extract, store."""
