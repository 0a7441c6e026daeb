"""Cell formats, defined once by name: the openpyxl styles and the live-Excel writer both read them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from creditbook.core.models import DecisionKind

FONT = "Microsoft YaHei"  # CJK-safe on Windows and Mac Office; always named (see notes)
NAVY, GREY, RED = "1F3864", "595959", "C00000"
INPUT_FILL, OUTPUT_FILL, SECTION_FILL = "FFF2CC", "F2F2F2", "DDEBF7"
BORDER_COLOR = "BFBFBF"  # thin box around bordered cells


@dataclass(frozen=True)
class Format:
    size: float = 10
    bold: bool = False
    italic: bool = False
    color: str = "000000"
    fill: str | None = None
    wrap: bool = False
    border: bool = False
    locked: bool = True
    horizontal: Literal["left", "center", "right"] | None = None
    vertical: Literal["top", "center", "bottom"] = "center"


FORMATS: dict[str, Format] = {
    "cb_title": Format(size=16, bold=True, color=NAVY),
    "cb_intro": Format(size=9, color=GREY, wrap=True),
    "cb_section": Format(size=11, bold=True, color=NAVY, fill=SECTION_FILL),
    "cb_header": Format(
        bold=True, color="FFFFFF", fill=NAVY, wrap=True, border=True, horizontal="center"
    ),
    "cb_label": Format(wrap=True, border=True),
    "cb_label_required": Format(bold=True, wrap=True, border=True),
    "cb_signer": Format(size=9, wrap=True, border=True, vertical="top"),
    "cb_input": Format(fill=INPUT_FILL, border=True, locked=False),
    "cb_note": Format(size=9, color=GREY, italic=True, wrap=True),
    "cb_output": Format(fill=OUTPUT_FILL, border=True, wrap=True),
    "cb_figure": Format(size=12, bold=True, fill=OUTPUT_FILL, border=True),
    "cb_text": Format(wrap=True, border=True),
    "cb_alert": Format(bold=True, color=RED, wrap=True, border=True),
    "cb_small": Format(size=8, color=GREY, wrap=True),
    # The contract annex: a centred title, clause headings, clause text without boxes.
    "cb_annex_title": Format(size=16, bold=True, color=NAVY, wrap=True, horizontal="center"),
    "cb_clause_title": Format(size=11, bold=True, color=NAVY, vertical="bottom"),
    "cb_annex_subtitle": Format(size=12, bold=True, color=NAVY, horizontal="center"),
    "cb_clause": Format(wrap=True, vertical="top"),
    "cb_clause_en": Format(size=9.5, color=GREY, wrap=True, vertical="top"),  # beside the Chinese
    "cb_term": Format(wrap=True, border=True, vertical="top"),
    "cb_term_en": Format(size=9.5, color=GREY, wrap=True, border=True, vertical="top"),
    "cb_sign": Format(wrap=True, border=True, vertical="top"),  # room to sign below the label
    "cb_reference": Format(size=9.5, color=GREY, wrap=True),
    "cb_reference_en": Format(size=9.5, color=GREY, wrap=True),
    "cb_badge_approve": Format(
        size=14, bold=True, color="FFFFFF", fill="2E7D32", horizontal="center"
    ),
    "cb_badge_reduced": Format(
        size=14, bold=True, color="FFFFFF", fill="7CB342", horizontal="center"
    ),
    "cb_badge_conditions": Format(
        size=14, bold=True, color="FFFFFF", fill="558B2F", horizontal="center"
    ),
    "cb_badge_counter": Format(
        size=14, bold=True, color="000000", fill="FFC000", horizontal="center"
    ),
    "cb_badge_prepaid": Format(size=14, bold=True, color="FFFFFF", fill=RED, horizontal="center"),
}
BADGES: dict[DecisionKind, str] = {
    DecisionKind.APPROVE: "cb_badge_approve",
    DecisionKind.APPROVE_REDUCED: "cb_badge_reduced",
    DecisionKind.APPROVE_WITH_CONDITIONS: "cb_badge_conditions",
    DecisionKind.COUNTER_OFFER: "cb_badge_counter",
    DecisionKind.PREPAID_ONLY: "cb_badge_prepaid",
}
