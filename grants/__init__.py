"""The stock option grants app: the book of grants, its rules, back office, portal and commands."""
