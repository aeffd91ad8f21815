"""Everything an agency downloads or opens: the list files, CSV/XLSX lists, the HTML site."""
