"""The `vpc-dns-watchdog` command line (operators' tools around a deployed watchdog)."""
