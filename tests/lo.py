"""LibreOffice as a test client: headless conversions, each with a private profile and a timeout.

See shared/notes/libreoffice-as-test-client.md: a shared profile fails silently between parallel
jobs, an unwritable one hangs, and soffice can exit 0 without writing the output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

# Skipped on a developer machine without LibreOffice; in CI (CI=true) a missing soffice fails.
needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice (soffice) is not on PATH; CI installs libreoffice-calc",
)


def soffice(
    sources: Sequence[Path], extension: str, out_dir: Path, profile: Path, timeout: int
) -> subprocess.CompletedProcess[str]:
    """One headless soffice run converting ``sources`` into ``out_dir``, with its own profile."""
    command = [
        "timeout",  # GNU timeout signals soffice's whole process group
        str(timeout),
        "soffice",
        f"-env:UserInstallation={profile.absolute().as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        extension,
        "--outdir",
        str(out_dir),
        *map(str, sources),
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def convert(source: Path, extension: str, out_dir: Path, timeout: int = 180) -> Path:
    """Convert ``source`` to ``extension`` (ods, xlsx, pdf) in ``out_dir``; return the new file."""
    result = soffice([source], extension, out_dir, out_dir / "lo-profile", timeout)
    converted = out_dir / f"{source.stem}.{extension}"
    if result.returncode != 0 or not converted.exists():
        raise AssertionError(
            f"soffice did not convert {source.name} to {extension} (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return converted
