"""The demo: the bundled sample site served on 127.0.0.1 and its seeds."""
