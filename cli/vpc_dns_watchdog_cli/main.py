"""`vpc-dns-watchdog <command>`: a small argparse dispatcher, one module per command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vpc_dns_watchdog_cli import status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vpc-dns-watchdog", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    status.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
