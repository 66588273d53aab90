"""Developer tools: the DNS lab, the Lambda stand-in kit, the demo, benchmarks, sam local.

The functions' code directories go on ``sys.path`` here, as the Lambda runtime puts a function's
CodeUri there, so that the tools use the functions' own constants (one owner per name: the tag
key, the canary name prefix) instead of copies.
"""

from __future__ import annotations

import sys
from pathlib import Path

_FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"
for _code_dir in (_FUNCTIONS / "checker", _FUNCTIONS / "canary"):
    if str(_code_dir) not in sys.path:
        sys.path.append(str(_code_dir))
