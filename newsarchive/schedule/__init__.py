"""Scheduled monitoring: the APScheduler loop, supervised crawl processes, the per-source lock."""
