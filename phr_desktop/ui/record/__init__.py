"""One record in detail: its tabs and its trend chart."""
