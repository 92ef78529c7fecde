"""Watchlists and alerts: delivery of the archive's watch matches (Apprise) and their
Atom feeds (feedgen). The matching itself is the archive's (archive/watches.py), done in
the transaction that stores each article."""
