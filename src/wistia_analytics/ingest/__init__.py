"""Ingestion: pull every stream from the Wistia API (or the sandbox) into Bronze, incrementally."""
