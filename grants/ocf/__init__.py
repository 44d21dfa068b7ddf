"""The Open Cap Format (OCF), the Open Cap Table Coalition's JSON format for cap tables.

``schema/`` holds the coalition's published v1.2.0 JSON schemas, copied unchanged (each keeps
its ``$comment`` copyright notice, as the OCF licence in ``schema/LICENSE.md`` asks), and
``validation.py`` checks OCF files and packages against them, offline. ``export.py`` writes
the book as a package and ``importing.py`` reads one into it (``vesting.py``: OCF vesting
terms as installments; ``extensions.py``: what OCF has no field for); see ``docs/ocf.md``.
"""
