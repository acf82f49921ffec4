"""Helpers every test folder shares, written once: free ports, polling, and the
withdrawal workflow's ids and message names as the tests address it (issue 23)."""
