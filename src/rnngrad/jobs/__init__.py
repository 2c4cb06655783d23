"""One job per CLI command: a frozen config in, plain data out (the CLI renders it)."""
