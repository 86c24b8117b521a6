"""Reading and writing C-CDA documents."""
