"""Make the shared oracles of ``tests/oracles.py`` importable from every test."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
