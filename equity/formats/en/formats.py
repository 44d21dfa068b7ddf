"""English date and time formats; every date-time carries its zone ("CST", "CDT")."""

DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
