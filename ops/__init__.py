"""The `consent` command: CLI, process supervisor, demo and traffic, lookup, SMTP capture."""
