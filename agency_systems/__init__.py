"""Demo agency systems: what Paser agencies deliver, built from real public data."""
