"""English formats: times labelled with their zone."""
