"""Reading the resolver configuration workloads use.

Inside a VPC Lambda the only ``nameserver`` is the link-local forwarder; the VPC option set's
servers appear as ``; configured nameserver X`` comments. A missing, empty or garbled file is a
finding (``problems``), never a crash: the canary must still answer. Lists are capped: at most
``MAX_CONFIGURED_SERVERS`` configured servers (EC2's maximum in an option set; the rest are
reported, not probed) and ``MAX_PROBLEMS`` problems, so one odd file cannot blow up a run.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from dns_canary.constants import (
    MAX_CONFIGURED_SERVERS,
    MAX_NAMESERVERS,
    MAX_PROBLEMS,
    MAX_RESOLV_CONF_BYTES,
)

_CONFIGURED = re.compile(r"^[;#]\s*configured\s+nameserver\s+(\S+)\s*$", re.IGNORECASE)
_IGNORED_DIRECTIVES = ("sortlist", "lookup", "family")
_SHOWN_IGNORED = 3


@dataclass(frozen=True)
class ResolvConf:
    path: str
    found: bool
    nameservers: tuple[str, ...] = ()
    configured_nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "found": self.found,
            "nameservers": list(self.nameservers),
            "configured_nameservers": list(self.configured_nameservers),
            "search": list(self.search),
            "options": dict(self.options),
            "problems": list(self.problems),
        }


def read_resolv_conf(path: str) -> ResolvConf:
    """Read and parse the file; I/O errors become problems."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_RESOLV_CONF_BYTES + 1)
    except FileNotFoundError:
        return ResolvConf(path=path, found=False, problems=(f"{path} does not exist",))
    except OSError as exc:
        return ResolvConf(
            path=path, found=False, problems=(f"{path} cannot be read: {exc.strerror or exc}",)
        )
    problems = []
    if len(raw) > MAX_RESOLV_CONF_BYTES:
        problems.append(
            f"{path} is larger than {MAX_RESOLV_CONF_BYTES} bytes; only the start was read"
        )
        raw = raw[:MAX_RESOLV_CONF_BYTES]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"{path} is not UTF-8 text; undecodable bytes were replaced")
        text = raw.decode("utf-8", errors="replace")
    parsed = parse_resolv_conf(text, path)
    return ResolvConf(
        path=parsed.path,
        found=True,
        nameservers=parsed.nameservers,
        configured_nameservers=parsed.configured_nameservers,
        search=parsed.search,
        options=parsed.options,
        problems=_capped([*problems, *parsed.problems]),
    )


def parse_resolv_conf(text: str, path: str = "resolv.conf") -> ResolvConf:
    """Parse resolv.conf text the way glibc reads it, plus the Lambda comment lines."""
    parser = _Parser()
    if not text.strip():
        parser.problems.append(f"{path} is empty")
    for number, line in enumerate(text.splitlines(), start=1):
        parser.line(number, line.strip())
    if not parser.nameservers:
        parser.problems.append(
            f"{path} has no usable 'nameserver' line: the C library falls back to 127.0.0.1 "
            "and lookups fail"
        )
    configured = parser.configured[:MAX_CONFIGURED_SERVERS]
    ignored = parser.configured[MAX_CONFIGURED_SERVERS:]
    if ignored:
        shown = ", ".join(ignored[:_SHOWN_IGNORED])
        more = f" and {len(ignored) - _SHOWN_IGNORED} more" if len(ignored) > _SHOWN_IGNORED else ""
        parser.problems.insert(
            0,
            f"{len(parser.configured)} configured nameservers, more than an option set can hold "
            f"({MAX_CONFIGURED_SERVERS}): only the first {MAX_CONFIGURED_SERVERS} are probed; "
            f"ignored {shown}{more}",
        )
    return ResolvConf(
        path=path,
        found=True,
        nameservers=tuple(parser.nameservers),
        configured_nameservers=tuple(configured),
        search=tuple(parser.search),
        options=parser.options,
        problems=_capped(parser.problems),
    )


def _capped(problems: list[str]) -> tuple[str, ...]:
    """At most MAX_PROBLEMS entries, the last one saying how many were left out."""
    if len(problems) <= MAX_PROBLEMS:
        return tuple(problems)
    left_out = len(problems) - (MAX_PROBLEMS - 1)
    return (*problems[: MAX_PROBLEMS - 1], f"and {left_out} more problems not listed")


@dataclass
class _Parser:
    nameservers: list[str] = field(default_factory=list)
    configured: list[str] = field(default_factory=list)
    search: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self, number: int, line: str) -> None:
        if not line:
            return
        if line[0] in ";#":
            match = _CONFIGURED.match(line)
            if match:
                self._address(match.group(1), self.configured, number, "configured nameserver")
            return
        keyword, *values = line.split()
        if keyword == "nameserver":
            self._nameserver(number, values)
        elif keyword in ("search", "domain"):
            if not values:
                self.problems.append(f"line {number}: '{keyword}' without a domain")
            # The last search/domain line wins, as in glibc.
            self.search = values if keyword == "search" else values[:1]
        elif keyword == "options":
            for option in values:
                name, _, value = option.partition(":")
                self.options[name] = value
        elif keyword not in _IGNORED_DIRECTIVES:
            self.problems.append(f"line {number}: unrecognised line {_shorten(line)!r}")

    def _nameserver(self, number: int, values: list[str]) -> None:
        if len(values) != 1:
            self.problems.append(f"line {number}: 'nameserver' needs exactly one address")
        elif len(self.nameservers) >= MAX_NAMESERVERS:
            self.problems.append(
                f"line {number}: more than {MAX_NAMESERVERS} nameserver lines; "
                f"the resolver ignores {values[0]}"
            )
        else:
            self._address(values[0], self.nameservers, number, "nameserver")

    def _address(self, value: str, into: list[str], number: int, keyword: str) -> None:
        try:
            address = str(ipaddress.ip_address(value))
        except ValueError:
            self.problems.append(
                f"line {number}: '{keyword}' value {_shorten(value)!r} is not an IP address"
            )
            return
        if address not in into:
            into.append(address)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
