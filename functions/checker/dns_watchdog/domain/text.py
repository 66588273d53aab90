"""The one clip rule for text the checker shows or stores (pure).

Every field with a limit (SNS subjects, chat fields, error messages quoted in evidence, log
fields) is cut the same way: at most `limit` characters, the last ones a marker when cut ("…",
or "..." where only ASCII may go, as in an SNS subject).
"""

from __future__ import annotations

ELLIPSIS = "…"
ASCII_ELLIPSIS = "..."


def clip(text: str, limit: int, *, marker: str = ELLIPSIS) -> str:
    """`text` if it fits in `limit` characters, else its start and `marker` in exactly `limit`."""
    if limit < max(1, len(marker)):
        raise ValueError(f"a clip limit is at least one character and as long as {marker!r}")
    return text if len(text) <= limit else text[: limit - len(marker)] + marker
