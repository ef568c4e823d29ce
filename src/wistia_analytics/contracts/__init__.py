"""Core contracts: streams, tables and channel rules declared as data. No I/O; imports nothing of ours."""
