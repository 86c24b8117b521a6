"""PDF exports: the full record and the share hand-out."""
