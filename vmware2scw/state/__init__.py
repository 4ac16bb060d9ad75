"""State: what v2s has made, its model and its backends."""
