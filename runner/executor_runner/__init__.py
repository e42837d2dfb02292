"""The runner container entry point: runs one `datahub ingest` and reports to DataHub GMS."""
