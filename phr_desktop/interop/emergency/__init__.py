"""The one-page and wallet-card emergency summaries."""
