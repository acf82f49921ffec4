"""Use cases shared by every face: the CLI, the HTTP API and the reviewer console."""
