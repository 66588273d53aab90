"""Text others wrote, made safe for the medium it is shown in: one rule per medium (pure).

- An SNS subject (e-mail's subject line): SNS takes printable ASCII only, no line breaks, under
  100 characters. Anything else (an account name in another script, a control character from a
  DNS answer) becomes "?"; a subject that is too long ends in "...".
"""

from __future__ import annotations

from dns_watchdog.domain.text import ASCII_ELLIPSIS, clip

SUBJECT_LIMIT = 99  # SNS subjects must stay under 100 characters


def sns_subject(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """`text` as an SNS subject: printable ASCII on one line, at most `limit` characters."""
    printable = "".join(c if " " <= c <= "~" else ("?" if c not in "\r\n\t" else " ") for c in text)
    return clip(printable, limit, marker=ASCII_ELLIPSIS)
