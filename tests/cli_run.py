"""Running the real `creditbook` command in a subprocess, importing this checkout's package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_creditbook(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`python -m creditbook ARGS` in `cwd`."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return subprocess.run(
        [sys.executable, "-m", "creditbook", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
    )


def run_evaluate(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m creditbook evaluate ARGS` in `cwd`."""
    return run_creditbook("evaluate", *args, cwd=cwd)
