"""Words as a PDF places them (pdftotext -bbox): to find text printed over other text, which is
how a cell too low for its wrapped text shows in LibreOffice's PDF (the cut-off lines are still
in the file, clipped, under the next row's text)."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def overlapping_words(pdf: Path) -> list[tuple[int, str, str]]:
    """(page, word, word) for each two words whose boxes overlap by more than a sliver."""
    shown = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for number, page in enumerate(shown.split("<page ")[1:], start=1):
        words = sorted(
            (float(y0), float(y1), float(x0), float(x1), html.unescape(word))
            for x0, y0, x1, y1, word in WORD.findall(page)
        )
        for index, (_top, bottom, left, right, word) in enumerate(words):
            for other in words[index + 1 :]:
                if other[0] >= bottom - 2:  # sorted by top: no later word reaches up here
                    break
                if min(right, other[3]) - max(left, other[2]) > 1:
                    found.append((number, word, other[4]))
    return found
