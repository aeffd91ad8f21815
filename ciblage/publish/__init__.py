"""Everything an agency downloads or opens: targets.parquet, CSV/XLSX lists, the HTML site."""
