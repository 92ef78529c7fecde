"""Extraction quality: evaluation sets, scoring, quality floors."""
