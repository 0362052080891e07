"""Inspector reports: monthly statistics and the report command."""
