"""Text others wrote, made safe for the medium it is shown in: one rule per medium (pure).

- An SNS subject (e-mail's subject line): SNS takes printable ASCII only, no line breaks, under
  100 characters. Anything else (an account name in another script, a control character from a
  DNS answer) becomes "?"; a subject that is too long ends in "...".
- Chat (Amazon Q Developer's `client-markdown`, posted to Slack and Microsoft Teams): text others
  wrote (canary findings, account names, CloudTrail fields, AWS error messages) must stay text.
  Slack acts on `<...>` (`<!channel>`, `<!here>`, `<@U123>` mentions, `<https://x|label>` links),
  both act on `[label](https://x)` links, `*`, `_`, `~` and backticks (emphasis, strikethrough,
  code), a `>` or `#` at a line's start (quote, heading), and turn bare URLs and e-mail addresses
  into links. `chat_markdown` keeps such text on one line and shows each of these characters as a
  look-alike the renderers do not act on (`_CHAT_LOOKALIKES`: angle quotation marks for `<` `>`,
  fullwidth brackets for `[` `]`, the asterisk and tilde operators, a modifier grave accent for
  the backtick, a fullwidth `@`, and for a leading `#`), and an `_` that could open or close
  emphasis as a modifier low macron (not inside a word: `CONFIGURED_SERVER_UNREACHABLE` stays as
  it is). A URL's `://` becomes `[:]//` and `www.` becomes `www[.]` (the usual defanged spelling),
  so no link is made of them. The text stays readable; it can no longer mention, link or format.
"""

from __future__ import annotations

import re
import unicodedata

from dns_watchdog.domain.text import ASCII_ELLIPSIS, clip

SUBJECT_LIMIT = 99  # SNS subjects must stay under 100 characters


def sns_subject(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """`text` as an SNS subject: printable ASCII on one line, at most `limit` characters."""
    printable = "".join(c if " " <= c <= "~" else ("?" if c not in "\r\n\t" else " ") for c in text)
    return clip(printable, limit, marker=ASCII_ELLIPSIS)


# Characters chat renderers act on, and the look-alikes shown instead.
_CHAT_LOOKALIKES = str.maketrans(
    {
        "<": "\u2039",  # mentions (<!channel>, <@U123>) and <url|label> links
        ">": "\u203a",  # and quotes
        "[": "\uff3b",  # [label](url) links
        "]": "\uff3d",
        "*": "\u2217",  # bold (Slack), emphasis (Teams)
        "~": "\u223c",  # strikethrough
        "`": "\u02cb",  # code
        "@": "\uff20",  # @here / @channel, e-mail addresses made links
    }
)
# An underscore that could open or close emphasis: not between two letters or digits.
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_URL_SCHEME = re.compile(r"://")
_WWW = re.compile(r"\bwww\.", re.IGNORECASE)
# Line breaks, controls and invisible format characters (bidi overrides, zero-width ones).
_BREAKING_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def chat_markdown(text: str) -> str:
    """`text` others wrote, as client-markdown that shows it and does nothing else: one line,
    no mention, link, emphasis, code, quote or heading (the module's docstring says how)."""
    flat = "".join(" " if unicodedata.category(c) in _BREAKING_CATEGORIES else c for c in text)
    shown = " ".join(flat.split()).translate(_CHAT_LOOKALIKES)
    shown = _EMPHASIS_UNDERSCORE.sub("\u02cd", shown)
    shown = _URL_SCHEME.sub("[:]//", shown)
    shown = _WWW.sub(lambda m: f"{m.group(0)[:-1]}[.]", shown)
    # A heading only starts a line ("entry #90" stays as it is).
    return "\uff03" + shown[1:] if shown.startswith("#") else shown
