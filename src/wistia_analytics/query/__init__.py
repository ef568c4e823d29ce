"""Reading the published tables: the one place readers (CLI `query`, status, the dashboard) get data from."""
