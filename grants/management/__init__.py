"""Operations on the book from the command line: the shared base of the commands and the feeds."""
