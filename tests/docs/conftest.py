"""Make the helpers next to these tests (markdown_blocks) importable in every pytest import mode."""

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
