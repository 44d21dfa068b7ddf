"""Template tags of the back office's lists."""
