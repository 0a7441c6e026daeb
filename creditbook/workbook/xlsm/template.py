"""The template workbook's sheets, built with openpyxl from the layout, the policy and the prices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table as ExcelTable
from openpyxl.worksheet.table import TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from creditbook.core.labels import LABELS, shown
from creditbook.core.policy import Policy
from creditbook.core.prices import PRICE_COLUMNS, PriceTable
from creditbook.core.records import Lang, Text, text
from creditbook.workbook import annex
from creditbook.workbook.approval import COLUMN_WIDTHS as APPROVAL_WIDTHS
from creditbook.workbook.approval import FIRST_COLUMN as APPROVAL_FIRST_COLUMN
from creditbook.workbook.approval import MARGINS as APPROVAL_MARGINS
from creditbook.workbook.approval import PRINT_SCALE as APPROVAL_SCALE
from creditbook.workbook.approval import SNAPSHOT_COLUMN
from creditbook.workbook.cells import CellValue, SheetValues, table_values
from creditbook.workbook.flatten import flatten
from creditbook.workbook.layout import (
    ANNEX_SHEET,
    APPROVAL_SHEET,
    AUDIT_COLUMNS,
    AUDIT_FIRST_COLUMN,
    AUDIT_HEADER_ROW,
    AUDIT_SHEET,
    BUFFERS,
    CONF_SHEET,
    CONSUMPTION,
    FORM_HEADINGS,
    INPUT_SHEETS,
    LISTS_SHEET,
    POLICY_FIRST_ROW,
    POLICY_PATH_COLUMN,
    POLICY_SHEET,
    PRICES_HEADER_ROW,
    PRICES_SHEET,
    PRICES_TABLE,
    PROFILE,
    SHEETS,
    STOP_LOSS,
    UDF_MODULE,
    Field,
    InputSheet,
    Table,
    column_letter,
    udf_blocks,
)
from creditbook.workbook.openpyxl_adapter import (
    write_language,
    write_sheet_values,
    write_text_safe,
)
from creditbook.workbook.xlsm.named_styles import register_styles

COLUMN_WIDTHS = {"flag": 11, "choice": 22, "text": 22}


def _lines(value: Text, lang: Lang, joint: str) -> str:
    """A sentence in one language, or both joined by `joint` (a line break, " / ")."""
    if lang != "both" or value.zh == value.en:
        return value.render(lang)
    return f"{value.zh}{joint}{value.en}"


def _title(ws: Worksheet, title: Text, intro: Text, width: int, lang: Lang) -> None:
    ws["B1"] = shown(title, lang)
    ws["B1"].style = "cb_title"
    ws["B2"] = _lines(intro, lang, "\n")
    ws["B2"].style = "cb_intro"
    ws.merge_cells(start_row=2, start_column=2, end_row=2, end_column=1 + width)
    ws.row_dimensions[2].height = 21 * (intro.zh.count("\n") + 1) * (2 if lang == "both" else 1)
    ws.column_dimensions["A"].width = 2


def _print_setup(ws: Worksheet, *, landscape: bool, title_rows: str | None = None) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    footer = ws.oddFooter
    assert footer is not None
    footer.center.text = "&A · &P / &N"
    if title_rows:
        ws.print_title_rows = title_rows


def _validation(field: Field, lang: Lang) -> DataValidation | None:
    bounds: dict[str, Any] = {}
    if field.kind in ("choice", "flag") or field.price_models:
        bounds = {"type": "list", "formula1": f"={field.list_name}"}
    elif field.kind == "integer":
        bounds = {"type": "whole", "operator": "greaterThanOrEqual", "formula1": "0"}
    elif field.kind in ("number", "money", "mtok"):
        bounds = {"type": "decimal", "operator": "greaterThanOrEqual", "formula1": "0"}
    elif field.kind == "ratio":
        bounds = {"type": "decimal", "operator": "between", "formula1": "0", "formula2": "1"}
    elif field.kind == "date":
        bounds = {"type": "date", "operator": "between", "formula1": "36526", "formula2": "73051"}
    if not bounds:
        return None
    validation = DataValidation(allow_blank=True, showErrorMessage=True, **bounds)
    if field.open_list:  # Excel asks before it keeps a value outside the list
        validation.errorStyle = "warning"
        validation.errorTitle = shown(text("不在列表中", "Not in the list"), lang)
        message = text("不在下拉列表中；确认保留此值吗？", "is not in the list; keep it?")
    else:
        validation.errorTitle = shown(text("输入无效", "Invalid input"), lang)
        message = text("请按下拉列表或数值范围填写", "use the list or a valid value")
    validation.error = f"{shown(field.label, lang)}: {_lines(message, lang, ' / ')}"
    if field.note:
        validation.promptTitle = shown(field.label, lang)[:32]
        validation.prompt = _lines(field.note, lang, "\n")[:255]
    return validation


def _validate(ws: Worksheet, field: Field, cells: str, lang: Lang) -> None:
    validation = _validation(field, lang)
    if validation is not None:
        validation.add(cells)
        ws.add_data_validation(validation)


def _form_sheet(ws: Worksheet, sheet: InputSheet, lang: Lang) -> None:
    form = sheet.form
    assert form is not None
    for column, heading in zip("BCD", FORM_HEADINGS, strict=True):
        ws[f"{column}{form.first_row - 1}"] = shown(heading, lang)
        ws[f"{column}{form.first_row - 1}"].style = "cb_header"
    for field in form.fields:
        row = form.row(field)
        ws.row_dimensions[row].height = 30
        ws[f"{form.label_column}{row}"] = field.heading_in(lang)
        ws[f"{form.label_column}{row}"].style = (
            "cb_label_required" if field.required else "cb_label"
        )
        cell = ws[form.cell(field)]
        cell.style = "cb_input"
        cell.number_format = field.number_format
        if field.note:
            ws[f"{form.note_column}{row}"] = _lines(field.note, lang, " / ")
            ws[f"{form.note_column}{row}"].style = "cb_note"
        _validate(ws, field, form.cell(field), lang)
    ws.column_dimensions["B"].width = 36
    ws.column_dimensions["C"].width = 30
    ws.column_dimensions["D"].width = 58
    ws.freeze_panes = f"A{form.first_row}"


def _table(ws: Worksheet, table: Table, lang: Lang) -> None:
    for index, column in enumerate(table.columns):
        letter = table.letter(index)
        header = ws[f"{letter}{table.header_row}"]
        header.value = column.heading_in(lang)
        header.style = "cb_header"
        for row in range(table.first_data_row, table.header_row + table.capacity + 1):
            ws[f"{letter}{row}"].style = "cb_input"
            ws[f"{letter}{row}"].number_format = column.number_format
        last = table.header_row + table.capacity
        _validate(ws, column, f"{letter}{table.first_data_row}:{letter}{last}", lang)
        wanted = COLUMN_WIDTHS.get(column.kind, 15)
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, wanted)
    ws.row_dimensions[table.header_row].height = 66
    excel_table = ExcelTable(displayName=table.name, ref=table.ref)
    excel_table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(excel_table)


def _summary(
    ws: Worksheet, column: str, row: int, rows: Sequence[tuple[Text, str, str]], lang: Lang
) -> None:
    """A small box of native formulas: (label, formula, number format)."""
    ws.column_dimensions[column].width = 40
    ws.column_dimensions[column_letter(ws[f"{column}1"].column + 1)].width = 14
    for offset, (label, formula, number_format) in enumerate(rows):
        ws[f"{column}{row + offset}"] = shown(label, lang)
        ws[f"{column}{row + offset}"].style = "cb_label"
        value = ws.cell(row + offset, ws[f"{column}1"].column + 1)
        value.value = formula
        value.style = "cb_output"
        value.number_format = number_format


def _native_formulas(wb: Workbook, lang: Lang) -> None:
    """Live totals that need no add-in: Excel and LibreOffice compute them."""
    form = PROFILE.form
    assert form is not None and BUFFERS.form is not None
    applied, renewal = form.cell("application_date"), form.cell("contract_renewal_date")
    requested, guarantee = form.cell("requested_limit"), form.cell("guarantee_amount")
    _summary(
        wb[PROFILE.name],
        "F",
        form.first_row,
        (
            (
                text("距续约天数", "Days to renewal"),
                f'=IF(OR({applied}="",{renewal}=""),"",{renewal}-{applied})',
                "0",
            ),
            (
                text("担保 ÷ 申请额度", "Guarantee ÷ request"),
                f'=IF(N({requested})>0,N({guarantee})/{requested},"")',
                "0%",
            ),
        ),
        lang,
    )
    consumption = CONSUMPTION.tables[0]
    last = consumption.header_row + consumption.capacity
    spend = consumption.letter([c.key for c in consumption.columns].index("monthly_spend"))
    model = consumption.letter([c.key for c in consumption.columns].index("model"))
    _summary(
        wb[CONSUMPTION.name],
        "L",
        consumption.first_data_row,
        (
            (
                text("消耗行数", "Lines"),
                f"=COUNTA({model}{consumption.first_data_row}:{model}{last})",
                "0",
            ),
            (
                text("已填月消耗合计", "Stated monthly spend"),
                f"=SUM({spend}{consumption.first_data_row}:{spend}{last})",
                "#,##0.00",
            ),
        ),
        lang,
    )
    _live_checks(wb[PROFILE.name], form.first_row + 3, lang)
    deposit, prepaid = BUFFERS.form.cell("deposit"), BUFFERS.form.cell("prepaid_balance")
    _summary(
        wb[BUFFERS.name],
        "F",
        BUFFERS.form.first_row,
        (
            (
                text("保证金与预付余额合计", "Deposit and prepaid balance"),
                f"=N({deposit})+N({prepaid})",
                "#,##0.00",
            ),
        ),
        lang,
    )
    steps = STOP_LOSS.tables[0]
    trigger = steps.letter(0)
    trigger_field = steps.columns[0]
    assert isinstance(trigger_field.choices, type)
    first, last = steps.first_data_row, steps.header_row + steps.capacity
    _summary(
        wb[STOP_LOSS.name],
        "Q",
        steps.first_data_row,
        tuple(
            (
                text(f"{LABELS[choice].zh}步数", f"{LABELS[choice].en} steps"),
                f'=COUNTIF({trigger}{first}:{trigger}{last},"{option}")',
                "0",
            )
            for choice, option in zip(
                trigger_field.choices, trigger_field.options_in(lang), strict=True
            )
        ),
        lang,
    )


LIVE_CHECKS: tuple[tuple[Text, str, str], ...] = (
    (text("输入检查", "Input check"), "cb_status", "@"),
    (text("评分", "Score"), "cb_score", "0"),
    (text("评级", "Tier"), "cb_tier", "@"),
    (text("批准额度", "Approved limit"), "cb_limit", "#,##0"),
    (text("下次复核", "Next review"), "cb_next_review", "yyyy-mm-dd"),
)


# Shown instead of #NAME? until the functions are imported (xlwings tab → Import Functions).
LIVE_CHECK_HINT = text("未导入", "not imported")  # the intro and README say how


def _live_checks(ws: Worksheet, row: int, lang: Lang) -> None:
    """Live feedback through the xlwings UDFs (udfs/credit.py); the approval never reads these."""
    ws[f"F{row}"] = f"{shown(text('实时检查', 'Live check'), lang)} (xlwings)"
    ws[f"F{row}"].style = "cb_section"
    arguments = ", ".join(ref for _, _, ref in udf_blocks())
    hint = shown(LIVE_CHECK_HINT, lang)
    _summary(
        ws,
        "F",
        row + 1,
        tuple(
            (label, f'=IFERROR({name}({arguments}),"{hint}")', fmt)
            for label, name, fmt in LIVE_CHECKS
        ),
        lang,
    )


def dropdown_options(field: Field, lang: Lang, prices: PriceTable) -> tuple[str, ...]:
    """What a field's dropdown offers: its labels in the language, or the price table's models."""
    if field.price_models:
        return tuple(dict.fromkeys(row.model for row in prices.rows))
    return field.options_in(lang)


def _lists(wb: Workbook, lang: Lang, prices: PriceTable) -> None:
    ws = wb.create_sheet(LISTS_SHEET)
    fields = {
        field.list_name: options
        for sheet in INPUT_SHEETS
        for field in sheet.fields()
        if (options := dropdown_options(field, lang, prices))
    }
    for index, (name, options) in enumerate(sorted(fields.items()), start=1):
        letter = column_letter(index)
        ws[f"{letter}1"] = name
        for row, option in enumerate(options, start=2):
            write_text_safe(ws[f"{letter}{row}"], option)
        ref = f"{LISTS_SHEET}!${letter}$2:${letter}${len(options) + 1}"
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
    ws.sheet_state = "hidden"


def _sheet_scalar(value: Any) -> CellValue:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value  # type: ignore[no-any-return]


def _policy_sheet(wb: Workbook, policy: Policy, lang: Lang) -> None:
    ws = wb.create_sheet(POLICY_SHEET)
    _title(
        ws,
        text(
            f"授信政策 {policy.id} {policy.version}", f"Credit policy {policy.id} {policy.version}"
        ),
        text(
            "可在此修改政策；任何修改都会改变政策哈希，并在审批单上标注为“政策已在工作簿中修改”。",
            "The policy can be edited here; any edit changes its hash and is flagged on the Approval "
            "sheet as edited in this workbook.",
        ),
        2,
        lang,
    )
    for column, heading in zip("BC", (text("项目", "Item"), text("值", "Value")), strict=True):
        ws[f"{column}{POLICY_FIRST_ROW - 1}"] = shown(heading, lang)
        ws[f"{column}{POLICY_FIRST_ROW - 1}"].style = "cb_header"
    row, section = POLICY_FIRST_ROW, ""
    for path, value in flatten(policy.model_dump(exclude={"examples"})):
        top = path.split(".")[0].split("[")[0]
        if section and top != section:
            row += 1
        section = top
        ws.cell(row, POLICY_PATH_COLUMN, path).style = "cb_label"
        write_text_safe(ws.cell(row, POLICY_PATH_COLUMN + 1), _sheet_scalar(value))
        ws.cell(row, POLICY_PATH_COLUMN + 1).style = "cb_input"
        row += 1
    ws.column_dimensions["B"].width = 48
    ws.column_dimensions["C"].width = 70
    ws.freeze_panes = f"A{POLICY_FIRST_ROW}"
    _print_setup(ws, landscape=False, title_rows=f"{POLICY_FIRST_ROW - 1}:{POLICY_FIRST_ROW - 1}")


def _prices_sheet(wb: Workbook, prices: PriceTable, lang: Lang) -> None:
    ws = wb.create_sheet(PRICES_SHEET)
    _title(
        ws,
        text("模型价格表", "Model prices"),
        text(
            "每百万 token 的目录价，含来源与日期。财务可修改任意一行，评估按此表计算。",
            "List prices per million tokens with source and date. Finance may override any row; "
            "evaluation uses this table.",
        ),
        len(PRICE_COLUMNS),
        lang,
    )
    for index, name in enumerate(PRICE_COLUMNS, start=2):
        ws.cell(PRICES_HEADER_ROW, index, name).style = "cb_header"
        ws.column_dimensions[column_letter(index)].width = 60 if name == "source" else 16
    for row, price in enumerate(prices.rows, start=PRICES_HEADER_ROW + 1):
        for index, name in enumerate(PRICE_COLUMNS, start=2):
            cell = ws.cell(row, index)
            write_text_safe(cell, _sheet_scalar(getattr(price, name)))
            cell.style = "cb_input"
    last = PRICES_HEADER_ROW + len(prices.rows)
    ref = f"B{PRICES_HEADER_ROW}:{column_letter(len(PRICE_COLUMNS) + 1)}{last}"
    excel_table = ExcelTable(displayName=PRICES_TABLE, ref=ref)
    excel_table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(excel_table)
    ws.freeze_panes = f"A{PRICES_HEADER_ROW + 1}"
    _print_setup(ws, landscape=True, title_rows=f"{PRICES_HEADER_ROW}:{PRICES_HEADER_ROW}")


def _output_sheets(wb: Workbook, lang: Lang) -> None:
    approval = wb.create_sheet(APPROVAL_SHEET)
    _title(
        approval,
        text("授信审批单", "Credit approval"),
        text(
            "在功能区点击“评估”生成审批单。",
            "Press Evaluate on the ribbon to produce the approval.",
        ),
        6,
        lang,
    )
    for index, width in enumerate(APPROVAL_WIDTHS):
        approval.column_dimensions[column_letter(APPROVAL_FIRST_COLUMN + index)].width = width
    for column in (SNAPSHOT_COLUMN, SNAPSHOT_COLUMN + 1):
        approval.column_dimensions[column_letter(column)].hidden = True
    approval.protection.sheet = True
    _print_setup(approval, landscape=False, title_rows="1:1")
    # The approval's manual page breaks are computed for this scale and these margins; Excel
    # ignores manual breaks when the sheet is fitted to a page width.
    approval.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=False)
    approval.page_setup.scale = APPROVAL_SCALE
    for side, inches in APPROVAL_MARGINS.items():
        setattr(approval.page_margins, side, inches)
    footer = approval.oddFooter
    assert footer is not None
    footer.center.text = "&P / &N"
    _annex_sheet(wb, lang)
    audit = wb.create_sheet(AUDIT_SHEET)
    _title(
        audit,
        text("审计日志", "Audit log"),
        text(
            "每次评估追加一行，不覆盖。",
            "Every evaluation appends a row; rows are never overwritten.",
        ),
        len(AUDIT_COLUMNS),
        lang,
    )
    for index, heading in enumerate(AUDIT_COLUMNS, start=AUDIT_FIRST_COLUMN):
        audit.cell(AUDIT_HEADER_ROW, index, shown(heading, lang)).style = "cb_header"
        audit.column_dimensions[column_letter(index)].width = 20
    audit.freeze_panes = f"A{AUDIT_HEADER_ROW + 1}"
    audit.protection.sheet = True
    _print_setup(audit, landscape=True, title_rows=f"{AUDIT_HEADER_ROW}:{AUDIT_HEADER_ROW}")


def _annex_sheet(wb: Workbook, lang: Lang) -> None:
    """The contract annex: protected like the Approval sheet, A4 portrait, no print titles."""
    ws = wb.create_sheet(ANNEX_SHEET)
    _title(
        ws,
        text("合同附表 · 授信条款", "Contract annex · Credit terms"),
        text(
            "在功能区点击“评估”生成供客户签署的合同附表。",
            "Press Evaluate on the ribbon to produce the annex the customer signs.",
        ),
        len(annex.COLUMN_WIDTHS),
        lang,
    )
    for index, width in enumerate(annex.COLUMN_WIDTHS):
        ws.column_dimensions[column_letter(APPROVAL_FIRST_COLUMN + index)].width = width
    ws.protection.sheet = True
    _print_setup(ws, landscape=False)
    # The annex's page breaks are computed for this scale and these margins, as the Approval's.
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=False)
    ws.page_setup.scale = annex.PRINT_SCALE
    for side, inches in annex.MARGINS.items():
        setattr(ws.page_margins, side, inches)
    footer = ws.oddFooter
    assert footer is not None
    footer.center.text = "&P / &N"  # no sheet name: the customer signs this page


def _conf_sheet(wb: Workbook, lang: Lang) -> None:
    ws = wb.create_sheet(CONF_SHEET)
    ws["A1"], ws["B1"] = "UDF Modules", UDF_MODULE
    write_language(wb, lang)
    ws.sheet_state = "hidden"


RAMP_HEADING = text("分阶段额度", "Staged ramp-up")


def build_template(policy: Policy, prices: PriceTable, lang: Lang = "both") -> Workbook:
    """Every sheet of CreditReview.xlsm, the stop-loss table pre-filled with the policy playbook;
    labels, headings, notes and dropdowns in `lang`, which the workbook remembers."""
    wb = Workbook()
    register_styles(wb)
    default_sheet = wb.active
    assert isinstance(default_sheet, Worksheet)
    wb.remove(default_sheet)
    for sheet in INPUT_SHEETS:
        ws = wb.create_sheet(sheet.name)
        width = max([3, *(len(table.columns) for table in sheet.tables)])
        _title(ws, sheet.title, sheet.intro, width, lang)
        if sheet.form:
            _form_sheet(ws, sheet, lang)
        for table in sheet.tables:
            _table(ws, table, lang)
        wide = any(len(table.columns) > 4 for table in sheet.tables)
        title_rows = (
            f"{sheet.tables[-1].header_row}:{sheet.tables[-1].header_row}" if wide else None
        )
        _print_setup(ws, landscape=wide, title_rows=title_rows)
    if BUFFERS.tables:
        ramp = BUFFERS.tables[0]
        wb[BUFFERS.name].cell(
            ramp.header_row - 1, 2, shown(RAMP_HEADING, lang)
        ).style = "cb_section"
    steps = STOP_LOSS.tables[0]
    playbook = table_values(steps, [step.model_dump() for step in policy.stop_loss], lang)
    write_sheet_values(
        wb, {STOP_LOSS.name: SheetValues(tables={steps.name: playbook})}, (STOP_LOSS,)
    )
    _native_formulas(wb, lang)
    _policy_sheet(wb, policy, lang)
    _prices_sheet(wb, prices, lang)
    _output_sheets(wb, lang)
    _lists(wb, lang, prices)
    _conf_sheet(wb, lang)
    wb[PROFILE.name].protection.sheet = True
    wb.code_name = "ThisWorkbook"
    for name, code_name in SHEETS:
        wb[name].sheet_properties.codeName = code_name
    wb.active = 0
    return wb
