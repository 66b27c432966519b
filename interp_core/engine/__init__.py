"""The engine every method runs on: loading (embedded models, catalog), one adapter per architecture family,
the site vocabulary, and the one hook entry point."""
