"""The `vpc-dns-watchdog` command line: preflight, check and status around a deployed watchdog."""
