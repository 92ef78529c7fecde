"""Scrapy settings for newsarchive. The CLI overrides a few per run (--db, --seeds, demo)."""

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "newsarchive/0.1 (news monitoring archiver; polite crawler)"

# Politeness: robots.txt, few parallel requests per host, adaptive delays.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# Retries for transient failures; the rest become `failures` rows.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

# Bounds: a page larger than DOWNLOAD_MAXSIZE or slower than DOWNLOAD_TIMEOUT is a failure.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5

SPIDER_MIDDLEWARES = {
    "crawler.middlewares.ArticleRequestFilter": 550,
}
ITEM_PIPELINES = {
    "pipelines.crawl.ExtractPipeline": 300,
    "pipelines.crawl.StorePipeline": 800,
}

# newsarchive's own settings.
NEWSARCHIVE_DB = None  # None: $NEWSARCHIVE_DB, else ./archive.db
NEWSARCHIVE_SEEDS_DIR = "seeds"
NEWSARCHIVE_EXTRACT_WORKERS = 0  # processes for extraction; 0 = one per core

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
