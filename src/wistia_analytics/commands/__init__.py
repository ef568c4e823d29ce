"""The command line: one module per command, thin over the stages; the only place that prints for people."""
