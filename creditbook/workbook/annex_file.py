"""`creditbook annex`: the contract annex of an evaluated workbook, printed again from its audit.

The annex is rebuilt from what was approved, not from the cells as they are now: the application
recorded in the audit snapshot (hidden columns of the Approval sheet), under the policy and prices
whose hashes the snapshot records, evaluated again at the recorded time. The fingerprint of that
evaluation must be the recorded one, or the annex would not be the approved one: then nothing is
written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from creditbook.core.assess import parse_and_validate
from creditbook.core.engine import evaluate
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable
from creditbook.core.records import Lang
from creditbook.data import default_prices
from creditbook.workbook.annex import Annex, annex_of, annex_plan
from creditbook.workbook.annex_docx import annex_docx
from creditbook.workbook.batch import sheet_pdfs
from creditbook.workbook.cells import CellValue, excel_float
from creditbook.workbook.file_io import InputError, refused, write_atomic
from creditbook.workbook.flatten import unflatten
from creditbook.workbook.layout import ANNEX_SHEET
from creditbook.workbook.package_reader import Book, read_file, read_snapshot
from creditbook.workbook.package_writer import Editor
from creditbook.workbook.xlsm.build import template_bytes
from creditbook.workbook.xlsm.opc import Package

APPLICATION = "application."
FORMATS = (".pdf", ".docx")


def _approved_value(value: CellValue) -> object:
    """A snapshot cell as the application JSON had it: numbers exact, at Excel's precision."""
    if isinstance(value, float):
        return Decimal(repr(excel_float(value)))
    return value


def _moment(value: CellValue) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _recorded(
    snapshot: dict[str, CellValue], key: str, candidates: Sequence[Policy | PriceTable | None]
) -> Policy | PriceTable | None:
    wanted = snapshot.get(f"audit.{key}")
    return next((c for c in candidates if c is not None and c.content_hash() == wanted), None)


def approved_annex(path: Path, officials: Sequence[Policy]) -> Annex:
    """The annex of the approval recorded in the workbook; an InputError when it cannot be
    rebuilt exactly (never evaluated, the policy or prices it was decided under gone, or a
    snapshot that does not give the recorded fingerprint)."""
    book, inputs = read_file(path)
    snapshot = read_snapshot(book)
    if "audit.fingerprint" not in snapshot:
        raise refused(
            path,
            "此工作簿从未评估，没有可打印的合同附表：请先评估（creditbook evaluate 或功能区“评估”）",
            "this workbook was never evaluated, so it has no annex to print: evaluate it first "
            "(creditbook evaluate, or Evaluate on the ribbon)",
        )
    policy = _recorded(snapshot, "policy_hash", [inputs.policy, *officials])
    prices = _recorded(snapshot, "prices_hash", [inputs.prices, default_prices()])
    if not isinstance(policy, Policy) or not isinstance(prices, PriceTable):
        missing = ("政策", "policy") if not isinstance(policy, Policy) else ("价格表", "prices")
        raise refused(
            path,
            f"评估时使用的{missing[0]}已不在工作簿中（已修改），也不是已知的官方版本：无法重现已批准的附表",
            f"the {missing[1]} this workbook was evaluated under is no longer in it (it was "
            "edited) nor a known official version: the approved annex cannot be reproduced",
        )
    raw = unflatten(
        (key.removeprefix(APPLICATION), _approved_value(value))
        for key, value in snapshot.items()
        if key.startswith(APPLICATION)
    )
    app, issues = parse_and_validate(raw, policy, prices)
    if app is None:
        raise InputError([issue.at(f"{path}: {issue.location}") for issue in issues])
    evaluated_at = _moment(snapshot.get("audit.evaluated_at"))
    decision = (
        None if evaluated_at is None else evaluate(app, policy, prices, evaluated_at=evaluated_at)
    )
    if decision is None or decision.audit.fingerprint != snapshot["audit.fingerprint"]:
        raise refused(
            path,
            "审计快照与记录的指纹不符：快照被改动，或由其他版本的引擎评估；请重新评估",
            "the audit snapshot does not give the recorded fingerprint: it was altered, or "
            "another engine version evaluated it; evaluate the workbook again",
        )
    return annex_of(decision, app, policy)


def annex_pdf_bytes(annex: Annex, lang: Lang) -> bytes | None:
    """The annex as PDF, laid out on the Annex sheet of the current template and printed by
    LibreOffice; None when LibreOffice is not installed or wrote nothing."""
    editor = Editor(Book(Package(template_bytes())))
    editor.write_plan(ANNEX_SHEET, annex_plan(annex, lang))
    with tempfile.TemporaryDirectory() as scratch:
        source, target = Path(scratch, "annex.xlsm"), Path(scratch, "annex.pdf")
        source.write_bytes(editor.to_bytes())
        written = sheet_pdfs(source, {ANNEX_SHEET: target}, lang)
        return written[ANNEX_SHEET].read_bytes() if ANNEX_SHEET in written else None


def write_annex_file(path: Path, target: Path, lang: Lang, officials: Sequence[Policy]) -> bool:
    """Write the approved annex of `path` to `target` (.pdf or .docx, atomically); False when a
    PDF cannot be made because LibreOffice is not installed."""
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise refused(
            target,
            "附表只能写成 .pdf 或 .docx 文件",
            "the annex can only be written as a .pdf or .docx file",
        )
    annex = approved_annex(path, officials)
    data = annex_docx(annex, lang) if suffix == ".docx" else annex_pdf_bytes(annex, lang)
    if data is None:
        return False
    write_atomic(target, data)
    return True
