"""Date and time formats of the project, by language."""
