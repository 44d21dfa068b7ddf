"""The management commands that cron and operations run (docs/operations.md)."""
