"""`python -m vpc_dns_watchdog_cli`."""

import sys

from vpc_dns_watchdog_cli.main import main

sys.exit(main())
