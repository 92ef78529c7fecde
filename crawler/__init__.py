"""The Scrapy project: settings, items, the `news` spider and its middlewares."""
