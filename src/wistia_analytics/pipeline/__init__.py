"""Orchestration of the stages: transform, ingest-then-transform, and the lake's status."""
