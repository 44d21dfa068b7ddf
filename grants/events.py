"""What the book announces when something happens that a person must be told of.

The models send these signals inside the transaction of the verb that made the change;
``grants.notifications`` listens (connected in ``GrantsConfig.ready``), so sending e-mail
depends on the models and never the reverse.
"""

from django.dispatch import Signal

# A step of an exercise: "recorded", "paid", "issued" or "cancelled". Sent with ``exercise``
# and ``step``.
exercise_step = Signal()

# Written notices the company gave optionees (paragraph 9), already saved. Sent with
# ``notices``, a list.
notices_given = Signal()
