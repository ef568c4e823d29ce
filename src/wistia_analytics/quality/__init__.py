"""Data quality: the checks a table version must pass before it is published."""
