"""``switcheroo check|fix`` output: the results rendered for a person (concise, full), a
program (json, json-lines) or a CI service (github, gitlab, sarif), one module per format, and
the summaries and exit codes of each command (check, fix, noqa)."""
