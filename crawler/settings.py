"""Scrapy settings for newsarchive. The CLI overrides a few per run (--db, --seeds, demo)."""

from scrapy.settings import default_settings as _default_settings

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "newsarchive/0.1 (news monitoring archiver; polite crawler)"

# Politeness: robots.txt, few parallel requests per host, adaptive delays.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Items of one response processed at once. Scrapy starts this many asyncio tasks for
# every response's output, whatever it holds: an article's response holds one item, a
# listing's requests are queued without waiting. At Scrapy's 100 that cost 1.05 ms of
# the reactor thread a response, 0.13 ms at 8 (bench/README.md, fourth session).
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# Retries for transient failures; the rest become `failures` rows.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

# Bounds (RELIABILITY.md): beyond them a page is a `failures` row, never a crash.
# The whole response, headers to last byte, within DOWNLOAD_TIMEOUT seconds (a slow drip
# is cut too): "timed out after 30 s".
DOWNLOAD_TIMEOUT = 30
# Listings, feeds and sitemaps: at most this many bytes, counted after decompression as
# well (a gzip bomb stops here): "too large: …".
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
# Article pages: at most this many bytes, decompressed. Extraction holds ~65 bytes per
# byte of HTML, so this bounds an extraction worker's memory (~250 MB at 4 MB).
NEWSARCHIVE_ARTICLE_MAXSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
# A Retry-After of up to this many seconds is waited out before the retry; longer, the
# URL is not retried this run.
NEWSARCHIVE_RETRY_AFTER_MAX = 30

# Every request and redirect target stays on the source's hosts (crawler/safety.py).
DOWNLOADER_MIDDLEWARES = {
    "crawler.safety.SafetyMiddleware": 60,  # before robots.txt is fetched for a host
    "crawler.backoff.RetryAfterMiddleware": 560,  # sees a response before RetryMiddleware
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.safety.SafeMetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.safety.SafeRedirectMiddleware": 600,
    # After Scrapy's HttpProxyMiddleware (750) has chosen the request's proxy.
    "crawler.safety.ProxiedHostCheck": 760,
    # Off unless NEWSARCHIVE_WARC_DIR is set; before decompression (590) on the way in,
    # so it records the bytes as they came (crawler/warcrecord.py).
    "crawler.warcrecord.WarcRecorder": 800,
}
# A host name whose DNS answer is not public is refused before it is connected to
# (crawler/resolver.py), the answer checked being the one connected to.
TWISTED_DNS_RESOLVER = "crawler.resolver.CheckedResolver"

SPIDER_MIDDLEWARES = {
    "crawler.middlewares.ArticleRequestFilter": 550,
}
ITEM_PIPELINES = {
    "crawler.itempipelines.ExtractPipeline": 300,
    "crawler.itempipelines.StorePipeline": 800,
}

# newsarchive's own settings.
NEWSARCHIVE_DB = None  # None: $NEWSARCHIVE_DB, else ./archive.db
NEWSARCHIVE_SEEDS_DIR = "seeds"
NEWSARCHIVE_EXTRACT_WORKERS = 0  # processes for extraction; 0 = one per core
NEWSARCHIVE_WARC_DIR = None  # a directory: also write every request and response as WARC
NEWSARCHIVE_WARC_MAX_SIZE = 1024**3  # bytes: a crawl-time WARC file rolls over past this

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False
# Extensions a crawl never uses, not even imported: Scrapy 2.19's remote control would
# open an HTTP control port for every crawl (and import aiohttp, a tenth of a run's
# start-up); the telnet console is off anyway (it imports twisted.conch). Left out of
# EXTENSIONS_BASE rather than set to None in EXTENSIONS: Scrapy imports every key of
# EXTENSIONS to normalise it, None or not, but not the keys of the _BASE dictionary.
_unused_extensions = {
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.memdebug.MemoryDebugger",
}
EXTENSIONS_BASE = {name: order for name, order in _default_settings.EXTENSIONS_BASE.items()
                   if name not in _unused_extensions}
