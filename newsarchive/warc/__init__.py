"""WARC (ISO 28500) in and out: export the archive's pages (export.py), import any WARC
through the crawl's own path (read.py, importing.py)."""
