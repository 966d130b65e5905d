"""Readers of external formats into the lake: one module per format, no analysis here."""

from biolake.io.table import TABLE_FORMATS, ingest_table, table_format

__all__ = ["TABLE_FORMATS", "ingest_table", "table_format"]
