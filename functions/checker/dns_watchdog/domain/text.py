"""The one clip rule for text the checker shows or stores (pure).

Every field with a limit (SNS subjects, chat fields, error messages quoted in evidence, log
fields) is cut the same way: at most `limit` characters, the last one an ellipsis when cut.
"""

from __future__ import annotations

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and "…" in exactly `limit`."""
    if limit < 1:
        raise ValueError("a clip limit is at least one character")
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
