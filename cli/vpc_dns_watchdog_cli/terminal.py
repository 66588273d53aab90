"""Text others wrote, made safe for a terminal: the one rule for what the CLI prints.

Canary findings (a DNS answer, a diagnosis summary), the state table and AWS (stack outputs,
error messages) can hold bytes a terminal acts on: ESC starts a control sequence (colours,
cursor moves, window titles, OSC 8 hyperlinks), BEL rings, CR and backspace overwrite what was
printed, C1 controls (U+0080-U+009F) are escape sequences of their own on some terminals, and
bidirectional overrides (U+202E...) reorder what follows. Each such character is shown as a
visible escape instead, the way Python writes it (`\\x1b`, `\\r`, `\\u202e`), so nothing
reaches the terminal that it would act on and the reader still sees it was there.

Escaped: Unicode's control (Cc: C0, DEL, C1), format (Cf: bidi marks, overrides and isolates,
zero-width characters), line and paragraph separators (Zl, Zp) and lone surrogates (Cs: they
cannot even be encoded). Everything else, including other scripts, is printed as it is.
"""

from __future__ import annotations

import unicodedata

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def for_terminal(value: object) -> str:
    """`value` as text a terminal shows without acting on it (one line: line breaks escaped)."""
    text = str(value)
    return "".join(
        _visible(c) if unicodedata.category(c) in _ESCAPED_CATEGORIES else c for c in text
    )
