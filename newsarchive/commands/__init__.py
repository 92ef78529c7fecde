"""Every `newsarchive` command, one module per feature, registered in COMMANDS.

A command parses options, calls an application service (newsarchive/<feature>/) or the
layers below, and prints. Adding a command: a module here and one entry in COMMANDS below.
"""

from __future__ import annotations

# name -> "module:attribute". The group imports a command's module only when that command
# runs (or --help lists them all): a scheduled `newsarchive crawl` that finds nothing new
# should not pay for the WARC, evaluation, backup and browsing modules.
COMMANDS: dict[str, str] = {
    "crawl": "newsarchive.commands.crawl:crawl",
    "demo": "newsarchive.commands.crawl:demo",
    "extract": "newsarchive.commands.extract:extract",
    "stats": "newsarchive.commands.stats:stats",
    "serve": "newsarchive.commands.browse:serve",
    "search": "newsarchive.commands.browse:search",
    "export": "newsarchive.commands.browse:export",
    "duplicates": "newsarchive.commands.history:duplicates",
    "history": "newsarchive.commands.history:history",
    "schedule": "newsarchive.commands.schedule:schedule",
    "runs": "newsarchive.commands.schedule:runs",
    "eval": "newsarchive.commands.evaluate:eval_command",
    "reextract": "newsarchive.commands.reextract:reextract_command",
    "worker": "newsarchive.commands.cluster:worker",
    "store": "newsarchive.commands.cluster:store",
    "import": "newsarchive.commands.warc:import_command",
    "backup": "newsarchive.commands.backup:backup",
    "watch": "newsarchive.commands.watch:watch",
    "feed": "newsarchive.commands.watch:feed",
}
