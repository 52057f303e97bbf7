"""The `rules` command line."""
