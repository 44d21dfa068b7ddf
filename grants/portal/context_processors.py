"""What every portal page's layout needs."""

from grants.portal.views import pending_acknowledgements


def portal(request):
    """What every portal page shows: the grants still waiting for an acknowledgement."""
    return {"pending_acknowledgements": lambda: pending_acknowledgements(request)}
