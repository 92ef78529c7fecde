"""Running crawls in this process: run_crawl and its progress and summaries."""
