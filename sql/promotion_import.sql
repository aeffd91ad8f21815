-- promotion_import: the ledger files `[followup] ledger` lists, as last imported at a
-- publication. A file whose bytes, validation inputs (day, ROME referential) and the
-- `promotion` table it left behind are all unchanged is not read again (see
-- ciblage/followup/import_cache.py): its stored report stands for the import.
CREATE TABLE IF NOT EXISTS promotion_import (
    path VARCHAR PRIMARY KEY,
    input_key VARCHAR NOT NULL,     -- sha256 of the file, import day, ROME referential
    table_state VARCHAR NOT NULL,   -- promotion's row count and last update after it
    report JSON NOT NULL,           -- the ImportReport, errors and warnings included
    imported_at TIMESTAMP NOT NULL
);
