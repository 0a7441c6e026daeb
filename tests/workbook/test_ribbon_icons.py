"""Every imageMso in the ribbon is one of Excel's own control ids.

An id from another Office application (AcceptInvitation is Outlook's) shows no icon in Excel.
EXCEL_CONTROL_IDS holds the ids we use, each found in Microsoft's published Excel list:
github.com/OfficeDev/office-fluent-ui-command-identifiers, "Microsoft 365/Current Channel/
excelcontrols.xlsx" (commit b230a0d, March 2024), also present in its Office 2013, 2016 and 2019
excelcontrols.xlsx:
  CalculateNow                      button, TabFormulas / GroupCalculation
  DataValidation                    button, TabData / GroupDataTools
  ReviewAcceptOrRejectChangeDialog  button, TabReview / GroupChangesExcel
Add an id here only after finding it in that list.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

ROOT = Path(__file__).parents[2]
RIBBON_FILE = ROOT / "workbook" / "ribbon" / "customUI.xml"
UI = "{http://schemas.microsoft.com/office/2006/01/customui}"

EXCEL_CONTROL_IDS = frozenset(
    {"CalculateNow", "DataValidation", "ReviewAcceptOrRejectChangeDialog"}
)
# In the same repository's Outlook lists (outlookexplorercontrols.xlsx ...), not in Excel's.
NOT_EXCEL = frozenset({"AcceptInvitation"})


def _images() -> dict[str, str]:
    root = ET.fromstring(RIBBON_FILE.read_bytes())
    return {
        element.get("id", ""): element.get("imageMso", "")
        for element in root.iter()
        if element.tag.startswith(UI) and element.get("imageMso") is not None
    }


def test_every_ribbon_icon_is_an_excel_control_id() -> None:
    images = _images()
    assert images, "no imageMso in the ribbon"
    unknown = {button: image for button, image in images.items() if image not in EXCEL_CONTROL_IDS}
    assert not unknown, f"imageMso not in Excel's control id list: {unknown}"


def test_ribbon_icons_are_the_checked_ones() -> None:
    assert _images() == {
        "btnEvaluate": "CalculateNow",
        "btnCheck": "DataValidation",
        "btnApproval": "ReviewAcceptOrRejectChangeDialog",
    }
    assert not NOT_EXCEL & EXCEL_CONTROL_IDS
