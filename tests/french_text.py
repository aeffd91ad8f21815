"""What a user-facing line must not look like: English (the product rule, issue 13:
lists, XLSX, HTML and terminal messages in French; code, docs and logs in English)."""

from __future__ import annotations

import re

# Words and phrases of the English messages these lines used to be; field, file, option
# and source names (top_n, agency_code, --territory, sirene_etablissement) are kept as
# they are and do not match.
ENGLISH = re.compile(
    r"\b(error|expected|unknown|not found|did you mean|must be|no such|known|got|invalid|"
    r"failed|missing|published|warehouse|the|and|first|recent runs|gave up|holding|"
    r"waiting|stopped|kept|lists?|rows?|offers?|reachable)\b",
    re.IGNORECASE,
)


def assert_french(text: str) -> None:
    """No English word of the old messages in `text` (one or more lines); paths (any
    word with a slash) are skipped, a temporary folder's name is not a message."""
    words = " ".join(w for w in text.split() if "/" not in w and "\\" not in w)
    found = sorted({m.group(0).lower() for m in ENGLISH.finditer(words)})
    assert not found, f"English in a user-facing message: {found}\n{text}"
