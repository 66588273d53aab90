"""`vpc-dns-watchdog`: preflight an option set or check VPCs through the deployed checker."""
