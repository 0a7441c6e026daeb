"""What finance sees from `creditbook monitor`: the workbook, the actions CSV and the terminal table.

`monitor.monitor` gives one `Health` per customer; this module only presents it. The workbook has
a Summary (customers needing action first, utilisation as bars), the full Monitor table, and one
sheet per customer with the daily spend against the 7-day average and the limit (a line chart).
The actions CSV lists each playbook action a customer has reached, for an operator to carry out in
the gateway by hand: creditbook never writes to the gateway.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.formatting.rule import DataBar, FormatObject, Rule
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from creditbook.core.labels import LABELS
from creditbook.core.models import Action, Currency, Trigger
from creditbook.core.money import SYMBOLS, money
from creditbook.core.plain_text import width
from creditbook.core.records import Lang, Text, error, text
from creditbook.portfolio.monitor import (
    DOWNGRADE_METRICS,
    Fired,
    Health,
    chart_days,
    health_json,
    monitor_json,
)
from creditbook.portfolio.register import AMBER, CSV_FORMULA_STARTS, PALE_RED, highlight_rule
from creditbook.portfolio.usage import Unmapped
from creditbook.workbook.file_io import InputError, write_atomic
from creditbook.workbook.openpyxl_adapter import append_row
from creditbook.workbook.xlsm.named_styles import register_styles
from creditbook.workbook.xlsm.sheetml import FORMULA_STARTS

SUMMARY_SHEET, DETAIL_SHEET, UNMAPPED_SHEET = "Summary", "Monitor", "Unmapped"
BAR_COLOR = "5B9BD5"
MONEY_FORMAT, SHARE_FORMAT, TIMES_FORMAT = "#,##0.00", "0.0%", '0.00"×"'

# ---------------------------------------------------------------- severity and words


def severity(health: Health) -> int:
    """0 nothing fired; 1 a downgrade trigger only; then 2 + the rank of the most severe action
    reached (`Action` is in escalation order)."""
    ranks = [list(Action).index(action) + 2 for action in health.actions]
    return max(ranks, default=1 if health.fired else 0)


def status(health: Health) -> Text:
    if health.actions:
        worst = LABELS[max(health.actions, key=list(Action).index)]
        return text(f"需处理：{worst.zh}", f"Act: {worst.en}")
    if health.fired:
        return text("复核降级", "Review for downgrade")
    return text("正常", "OK")


def ordered(results: Sequence[Health]) -> list[Health]:
    """Most severe first, then the highest utilisation; customers without a limit last."""

    def key(health: Health) -> tuple[int, Decimal, str]:
        utilisation = health.metrics["utilisation"]
        used = Decimal(utilisation) if utilisation is not None else Decimal(-1)
        return (-severity(health), -used, health.customer.name)

    return sorted(results, key=key)


def _number(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _percent(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.1')).normalize():f} %"


def threshold_words(item: Fired) -> Text:
    """The threshold reached, in words with its unit."""
    if item.kind == "downgrade":  # the policy's sentence, as a label starts
        words = item.description or text(item.id, item.id)
        return text(words.zh, words.en[:1].upper() + words.en[1:])
    step = _number(item.threshold)
    return {
        Trigger.OVER_LIMIT.value: text(
            f"额度使用率 ≥ {_percent(item.threshold)}",
            f"credit used ≥ {_percent(item.threshold)} of the limit",
        ),
        Trigger.ABNORMAL_USAGE.value: text(
            f"当日消耗 ≥ 前 7 日均值的 {step} 倍",
            f"day's spend ≥ {step} × the average of the 7 days before",
        ),
        Trigger.OVERDUE.value: text(f"逾期 ≥ {step} 天", f"past due ≥ {step} days"),
    }[item.id]


METRIC_UNITS = {
    "utilisation": "ratio",
    "spend_vs_average": "times",
    "current_days_past_due": "days",
    "overdue_streak": "count",
    "max_days_past_due": "days",
    "spend_30d": "amount",
    "high_cost_share": "ratio",
    "used": "amount",
}
STOP_LOSS_UNITS = {"over_limit": "ratio", "abnormal_usage": "times", "overdue": "days"}


def value_words(item: Fired, currency: Currency) -> Text:
    """The measured figure that reached the threshold, in its unit."""
    metric = DOWNGRADE_METRICS[item.id][0] if item.kind == "downgrade" else ""
    unit = METRIC_UNITS[metric] if metric else STOP_LOSS_UNITS[item.id]
    value = item.value
    if unit == "ratio":
        return text(_percent(value), _percent(value))
    if unit == "times":
        shown = f"{value.quantize(Decimal('0.01'))} ×"
        return text(shown, shown)
    if unit == "days":
        return text(f"{value} 天", f"{value} days")
    if unit == "count":
        return text(f"{value} 期", f"{value} invoices")
    return text(money(value, currency), money(value, currency))


def fired_words(item: Fired) -> Text:
    if item.kind == "downgrade":
        return threshold_words(item)
    name = LABELS[Trigger(item.id)]
    words = threshold_words(item)
    return text(f"{name.zh}：{words.zh}", f"{name.en}: {words.en}")


def _joined(items: Iterable[Text], lang: Lang, sep: str = "; ") -> str:
    return sep.join(item.render(lang) for item in items)


def _labels(values: Iterable[Any], lang: Lang) -> str:
    """Action or recovery labels in a list."""
    return ("、" if lang == "zh" else ", ").join(LABELS[value].render(lang) for value in values)


def earliest_since(health: Health) -> date | None:
    return min((item.since for item in health.fired if item.since), default=None)


# -------------------------------------------------------------------------- sheet names

INVALID_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
RESERVED_SHEET_NAMES = ("History",)  # Excel keeps it for its change history


def sheet_names(names: Sequence[str], taken: Iterable[str]) -> list[str]:
    """A valid, unique sheet name for each of `names`: at most 31 characters, none of []:*?/\\,
    no apostrophe at either end; a repeated name gets " (2)", " (3)"… (Excel compares names
    without case)."""
    used = {name.casefold() for name in (*taken, *RESERVED_SHEET_NAMES)}
    chosen = []
    for name in names:
        base = INVALID_IN_SHEET_NAMES.sub("_", name).strip().strip("'") or "_"
        candidate, number = base[:31].strip().strip("'"), 2
        while candidate.casefold() in used:
            suffix = f" ({number})"
            candidate, number = base[: 31 - len(suffix)].strip().strip("'") + suffix, number + 1
        used.add(candidate.casefold())
        chosen.append(candidate)
    return chosen


# ----------------------------------------------------------------------------- workbook

Column = tuple[str, Text, Callable[[Health], Any], str | None]


def _metric(name: str) -> Callable[[Health], Any]:
    return lambda health: health.metrics[name]


SUMMARY_COLUMNS: tuple[Column, ...] = (
    ("status", text("状态", "Status"), lambda h: h, None),  # rendered per language below
    ("customer", text("客户", "Customer"), lambda h: h.customer.name, None),
    (
        "credit_code",
        text("统一社会信用代码", "Credit code"),
        lambda h: h.customer.credit_code,
        None,
    ),
    (
        "approved_limit",
        text("批准额度", "Approved limit"),
        lambda h: h.customer.approved_limit,
        MONEY_FORMAT,
    ),
    ("used", text("已用额度（含未出账）", "Used (incl. unbilled)"), _metric("used"), MONEY_FORMAT),
    ("utilisation", text("额度使用率", "Limit used"), _metric("utilisation"), SHARE_FORMAT),
    (
        "spend_vs_average",
        text("当日 ÷ 均值", "Day ÷ average"),
        _metric("spend_vs_average"),
        TIMES_FORMAT,
    ),
    (
        "current_days_past_due",
        text("逾期天数", "Days past due"),
        _metric("current_days_past_due"),
        "0",
    ),
    ("fired", text("触发", "Reached"), lambda h: h, None),
    ("actions", text("应采取措施", "Actions"), lambda h: h, None),
    ("since", text("起始日", "Since"), earliest_since, "yyyy-mm-dd"),
    ("sheet", text("明细", "Details"), lambda h: h, None),
)
# text columns: wrapped, the row as high as its longest text needs
SUMMARY_WIDTHS = {
    "status": 24,
    "customer": 30,
    "credit_code": 21,
    "fired": 44,
    "actions": 30,
    "sheet": 24,
}
UTILISATION_COLUMN = [key for key, *_ in SUMMARY_COLUMNS].index("utilisation") + 1
HEADER_ROW = 4


def _summary_values(health: Health, lang: Lang, sheet: str) -> list[Any]:
    texts: dict[str, str] = {
        "status": status(health).render(lang),
        "fired": _joined((fired_words(item) for item in health.fired), lang),
        "actions": _labels(health.actions, lang),
        "sheet": sheet,
    }
    return [texts[key] if key in texts else value(health) for key, _, value, _ in SUMMARY_COLUMNS]


def _summary_sheet(
    ws: Worksheet, results: list[Health], names: list[str], as_of: date, lang: Lang
) -> None:
    ws["A1"], ws["A1"].style = text("额度监控", "Credit monitoring").render(lang), "cb_title"
    needing = sum(health.action_needed for health in results)
    ws["A2"] = text(
        f"截至 {as_of.isoformat()}：{len(results)} 位客户，{needing} 位需处理",
        f"As of {as_of.isoformat()}: {len(results)} customers, {needing} needing action",
    ).render(lang)
    ws["A2"].style = "cb_intro"
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=4)
    for column, (_, label, _, _) in enumerate(SUMMARY_COLUMNS, start=1):
        ws.cell(HEADER_ROW, column, label.render(lang)).style = "cb_header"
    ws.row_dimensions[HEADER_ROW].height = 30
    for health, name in zip(results, names, strict=True):
        append_row(ws, _summary_values(health, lang, name))
        row = ws.max_row
        money_format = f'"{SYMBOLS[health.customer.currency]}"{MONEY_FORMAT}'
        lines = 1
        for column, (key, _, _, number_format) in enumerate(SUMMARY_COLUMNS, start=1):
            cell = ws.cell(row, column)
            if number_format:
                cell.number_format = (
                    money_format if number_format == MONEY_FORMAT else number_format
                )
            if key in SUMMARY_WIDTHS and isinstance(cell.value, str):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                lines = max(lines, -(-width(cell.value) // (SUMMARY_WIDTHS[key] - 2)))
            else:
                cell.alignment = Alignment(vertical="top")
        ws.row_dimensions[row].height = 15 * lines
        link = ws.cell(row, len(SUMMARY_COLUMNS))
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"{quote_sheetname(name)}!A1")
        link.style = "Hyperlink"
        link.alignment = Alignment(vertical="top")
        level = severity(health)
        if level:
            ws.cell(row, 1).fill = PatternFill("solid", fgColor=PALE_RED if level > 1 else AMBER)
    last_row = max(ws.max_row, HEADER_ROW + 1)
    last_col = get_column_letter(len(SUMMARY_COLUMNS))
    table = Table(displayName="Summary", ref=f"A{HEADER_ROW}:{last_col}{last_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    bar = get_column_letter(UTILISATION_COLUMN)
    # a full bar is the whole limit used; beyond it the bar stays full and the figure says by how much
    ws.conditional_formatting.add(
        f"{bar}{HEADER_ROW + 1}:{bar}{last_row}",
        Rule(
            type="dataBar",
            dataBar=DataBar(
                cfvo=[FormatObject(type="num", val=0), FormatObject(type="num", val=1)],
                color=BAR_COLOR,
            ),
        ),
    )
    for column, (key, *_) in enumerate(SUMMARY_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(column)].width = SUMMARY_WIDTHS.get(key, 14)
    ws.freeze_panes = f"C{HEADER_ROW + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"


DAY_HEADERS = (
    text("日期", "Date"),
    text("当日消耗", "Day's spend"),
    text("前 7 日均值", "7-day average"),
    text("批准额度", "Approved limit"),
)
DAY_TABLE_ROW = 12  # header of the day table on a customer's sheet
FACT_WIDTH = 44  # characters across the merged figure cells B:D


def _customer_sheet(ws: Worksheet, health: Health, as_of: date, lang: Lang) -> None:
    customer = health.customer
    ws["A1"] = customer.name
    ws["A1"].style = "cb_title"
    if customer.name.startswith(FORMULA_STARTS):  # a name is text, never a live formula
        ws["A1"].data_type, ws["A1"].quotePrefix = "s", True
    as_of_words = text("截至", "as of").render(lang)
    ws["A2"] = f"{customer.credit_code}  ·  {as_of_words} {as_of.isoformat()}".lstrip(" ·")
    ws["A2"].style = "cb_intro"
    ws.merge_cells("A2:D2")
    money_format = f'"{SYMBOLS[customer.currency]}"{MONEY_FORMAT}'
    metrics = health.metrics
    facts: list[tuple[Text, Any, str | None]] = [
        (text("状态", "Status"), status(health).render(lang), None),
        (text("批准额度", "Approved limit"), customer.approved_limit, money_format),
        (text("已用额度（含未出账）", "Used (incl. unbilled)"), metrics["used"], money_format),
        (text("额度使用率", "Limit used"), metrics["utilisation"], SHARE_FORMAT),
        (
            text("当日 ÷ 前 7 日均值", "Day ÷ 7-day average"),
            metrics["spend_vs_average"],
            TIMES_FORMAT,
        ),
        (
            text("触发", "Reached"),
            _joined((fired_words(i) for i in health.fired), lang) or "—",
            None,
        ),
        (text("应采取措施", "Actions"), _labels(health.actions, lang) or "—", None),
        (text("用量账号", "Usage keys"), ", ".join(health.keys) or "—", None),
    ]
    for row, (label, value, number_format) in enumerate(facts, start=3):
        ws.cell(row, 1, label.render(lang)).style = "cb_label"
        cell = ws.cell(row, 2, value)
        cell.style = "cb_output"
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
        if number_format:
            cell.number_format = number_format
        if isinstance(value, str):
            ws.row_dimensions[row].height = 15 * max(1, -(-width(value) // FACT_WIDTH))
    for column, label in enumerate(DAY_HEADERS, start=1):
        ws.cell(DAY_TABLE_ROW, column, label.render(lang)).style = "cb_header"
    days = chart_days(health, as_of)
    for row, day in enumerate(days, start=DAY_TABLE_ROW + 1):
        ws.cell(row, 1, day.day).number_format = "yyyy-mm-dd"
        for column, value in ((2, day.spend), (3, day.average), (4, customer.approved_limit)):
            ws.cell(row, column, value).number_format = MONEY_FORMAT
    for letter, size in zip("ABCD", (24, 16, 16, 16), strict=True):
        ws.column_dimensions[letter].width = size
    last = DAY_TABLE_ROW + len(days)
    title = text("每日消耗、前 7 日均值与批准额度", "Daily spend, 7-day average and limit")
    ws.add_chart(_line_chart(ws, title.render(lang), customer.currency, 4, last), "F3")
    # the limit is often many days of spend: the two spend lines again, at their own scale
    close_up = text(
        "每日消耗与前 7 日均值（不含额度）", "Daily spend and 7-day average, without the limit"
    )
    ws.add_chart(_line_chart(ws, close_up.render(lang), customer.currency, 3, last), "F22")
    ws.freeze_panes = f"A{DAY_TABLE_ROW + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1  # one page per customer
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


LINE_COLORS = ("1F3864", "ED7D31", "C00000")  # day's spend, 7-day average, limit


def _line_chart(
    ws: Worksheet, title: str, currency: Currency, last_column: int, last_row: int
) -> LineChart:
    """Columns B… of the day table as lines over its dates."""
    chart = LineChart()
    chart.title = title
    chart.y_axis.title = currency.value
    chart.y_axis.numFmt = "#,##0"
    chart.x_axis.number_format = "mm-dd"
    chart.height, chart.width = 9, 18
    data = Reference(ws, min_col=2, max_col=last_column, min_row=DAY_TABLE_ROW, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=DAY_TABLE_ROW + 1, max_row=last_row))
    for series, color in zip(chart.series, LINE_COLORS, strict=False):
        series.smooth = False
        series.graphicalProperties.line.solidFill = color
        series.graphicalProperties.line.width = 22000  # EMU: about 1.75 pt
    chart.series[1].graphicalProperties.line.dashStyle = "dash"
    return chart


DETAIL_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], Any], str | None], ...] = (
    ("customer", lambda r: r["customer"], None),
    ("credit_code", lambda r: r["credit_code"], None),
    ("currency", lambda r: r["currency"], None),
    ("approved_limit", lambda r: r["approved_limit"], MONEY_FORMAT),
    ("used", lambda r: r["metrics"]["used"], MONEY_FORMAT),
    ("utilisation", lambda r: r["metrics"]["utilisation"], SHARE_FORMAT),
    ("daily_spend", lambda r: r["metrics"]["daily_spend"], MONEY_FORMAT),
    ("trailing_7d_average", lambda r: r["metrics"]["trailing_7d_average"], MONEY_FORMAT),
    ("spend_vs_average", lambda r: r["metrics"]["spend_vs_average"], "0.00"),
    ("high_cost_share", lambda r: r["metrics"]["high_cost_share"], SHARE_FORMAT),
    (
        "application_high_cost_share",
        lambda r: r["metrics"]["application_high_cost_share"],
        SHARE_FORMAT,
    ),
    ("overdue_streak", lambda r: r["metrics"]["overdue_streak"], None),
    ("max_days_past_due", lambda r: r["metrics"]["max_days_past_due"], None),
    ("downgrade_triggers", lambda r: ", ".join(t["id"] for t in r["downgrade_triggers"]), None),
    (
        "stop_loss",
        lambda r: ", ".join(f"{s['trigger']} ≥ {s['threshold']:g}" for s in r["stop_loss"]),
        None,
    ),
    ("actions", lambda r: ", ".join(r["actions"]), None),
    ("escalation", lambda r: ", ".join(r["escalation"]), None),
    ("recovery", lambda r: ", ".join(r["recovery"]), None),
    ("action_needed", lambda r: r["action_needed"], None),
)


def _detail_sheet(ws: Worksheet, results: Sequence[Health], as_of: date) -> None:
    """Every figure of every customer, under the JSON's field names (for filters and lookups)."""
    ws.append([name for name, _, _ in DETAIL_COLUMNS])
    for health in results:
        record = health_json(health, as_of)
        append_row(ws, [value(record) for _, value, _ in DETAIL_COLUMNS])
    last_row = max(len(results) + 1, 2)
    for index, (name, _, number_format) in enumerate(DETAIL_COLUMNS, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = (
            36 if name in ("customer", "actions", "stop_loss") else 14
        )
        if number_format:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    last_col = get_column_letter(len(DETAIL_COLUMNS))
    table = Table(displayName="Monitor", ref=f"A1:{last_col}{last_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    ws.conditional_formatting.add(
        f"A2:{last_col}{last_row}",
        highlight_rule(f"${last_col}2=TRUE", PatternFill("solid", bgColor=PALE_RED), None),
    )
    ws.freeze_panes = "B2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


UNMAPPED_HEADERS = (
    text("用量账号", "Usage key"),
    text("行数", "Rows"),
    text("金额（至截止日）", "Amount (to the as-of date)"),
    text("近 30 日", "Last 30 days"),
    text("币种", "Currency"),
    text("待计价输入（百万 token）", "Input to price (M tokens)"),
    text("待计价输出（百万 token）", "Output to price (M tokens)"),
)


def _unmapped_sheet(ws: Worksheet, unmapped: Sequence[Unmapped], lang: Lang) -> None:
    """Usage no customer claims, by key, largest first: add its key to the customer map."""
    ws["A1"] = text("未对应到客户的用量", "Usage that matches no customer").render(lang)
    ws["A1"].style = "cb_title"
    ws["A2"] = text(
        "请在客户对照表（--customers）中为这些账号填写统一社会信用代码",
        "Give these keys a credit code in the customer map (--customers)",
    ).render(lang)
    ws["A2"].style = "cb_intro"
    for column, label in enumerate(UNMAPPED_HEADERS, start=1):
        ws.cell(HEADER_ROW, column, label.render(lang)).style = "cb_header"
    for item in unmapped:
        amounts = (item.amount, item.amount_30d)
        append_row(
            ws,
            [item.key, item.rows, *amounts, item.currency, item.input_mtok, item.output_mtok],
        )
        for column in (3, 4):
            ws.cell(ws.max_row, column).number_format = MONEY_FORMAT
    for letter, size in zip("ABCDEFG", (30, 10, 20, 16, 10, 18, 18), strict=True):
        ws.column_dimensions[letter].width = size
    ws.freeze_panes = f"A{HEADER_ROW + 1}"


def monitor_xlsx(
    results: Sequence[Health],
    as_of: date,
    lang: Lang = "both",
    unmapped: Sequence[Unmapped] = (),
) -> bytes:
    wb = Workbook()
    register_styles(wb)
    summary = wb.active
    assert summary is not None
    summary.title = SUMMARY_SHEET
    shown = ordered(results)
    taken = (SUMMARY_SHEET, DETAIL_SHEET, *((UNMAPPED_SHEET,) if unmapped else ()))
    names = sheet_names([health.customer.name for health in shown], taken)
    _summary_sheet(summary, shown, names, as_of, lang)
    _detail_sheet(wb.create_sheet(DETAIL_SHEET), shown, as_of)
    if unmapped:
        _unmapped_sheet(wb.create_sheet(UNMAPPED_SHEET), unmapped, lang)
    for health, name in zip(shown, names, strict=True):
        _customer_sheet(wb.create_sheet(name), health, as_of, lang)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# -------------------------------------------------------------------------- actions CSV

ACTION_COLUMNS = (
    "credit_code",
    "customer",
    "usage_keys",
    "action_id",
    "action",
    "trigger_id",
    "threshold",
    "value",
    "since",
)


def action_rows(results: Sequence[Health], lang: Lang) -> list[dict[str, str]]:
    """One row per action a customer's playbook reaches, per trigger: the lowest step that
    reaches it gives the threshold and since when (customers in the Summary's order)."""
    rows = []
    for health in ordered(results):
        seen: set[tuple[str, Action]] = set()
        for item in health.fired:
            for action in item.actions:
                if (item.id, action) in seen:
                    continue
                seen.add((item.id, action))
                rows.append(
                    {
                        "credit_code": health.customer.credit_code,
                        "customer": health.customer.name,
                        "usage_keys": "; ".join(health.keys),
                        "action_id": action.value,
                        "action": LABELS[action].render(lang),
                        "trigger_id": item.id,
                        "threshold": fired_words(item).render(lang),
                        "value": value_words(item, health.customer.currency).render(lang),
                        "since": item.since.isoformat() if item.since else "",
                    }
                )
    return rows


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(CSV_FORMULA_STARTS) else value


def actions_csv(results: Sequence[Health], lang: Lang) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads the Chinese labels right); text that starts
    like a formula gets an apostrophe."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ACTION_COLUMNS)
    for row in action_rows(results, lang):
        writer.writerow([_cell(row[name]) for name in ACTION_COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------- terminal, files


def terminal_rows(results: Sequence[Health], lang: Lang) -> list[tuple[str, ...]]:
    """A plain-text table in the Summary's order: status, customer, the figures, the actions."""
    headers = (
        text("状态", "status"),
        text("客户", "customer"),
        text("额度使用率", "limit used"),
        text("当日 ÷ 均值", "day ÷ 7d avg"),
        text("逾期天数", "days past due"),
        text("应采取措施", "actions"),
    )
    rows: list[tuple[str, ...]] = [tuple(header.render(lang) for header in headers)]
    for health in ordered(results):
        metrics = health.metrics
        utilisation, spike = metrics["utilisation"], metrics["spend_vs_average"]
        rows.append(
            (
                status(health).render(lang),
                health.customer.name,
                "—" if utilisation is None else _percent(Decimal(utilisation)),
                "—" if spike is None else f"{Decimal(spike).quantize(Decimal('0.01'))} ×",
                str(metrics["current_days_past_due"]),
                _labels(health.actions, lang) or "—",
            )
        )
    return rows


def unmapped_rows(unmapped: Sequence[Unmapped]) -> list[tuple[str, ...]]:
    """Usage no customer claims: key, rows and amount (the terminal shows it after the table)."""
    rows: list[tuple[str, ...]] = [
        ("key 用量键", "rows 行数", "amount 金额", "last 30 days 近30天")
    ]
    for item in unmapped:
        unit = f" {item.currency}" if item.currency else ""
        tokens = (
            f" + {item.input_mtok:f}/{item.output_mtok:f} Mtok"
            if item.input_mtok or item.output_mtok
            else ""
        )
        rows.append(
            (
                item.key or "(empty 空)",
                str(item.rows),
                f"{item.amount:,.2f}{unit}{tokens}",
                f"{item.amount_30d:,.2f}{unit}",
            )
        )
    return rows


def write_monitor(
    results: Sequence[Health],
    as_of: date,
    path: Path,
    lang: Lang = "both",
    unmapped: Sequence[Unmapped] = (),
    utc_offset: int = 0,
) -> None:
    """Write by extension: .xlsx or .json; usage no customer claims goes in both."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        write_atomic(path, monitor_json(results, as_of, unmapped, utc_offset).encode("utf-8"))
    elif suffix == ".xlsx":
        write_atomic(path, monitor_xlsx(results, as_of, lang, unmapped))
    else:
        raise InputError(
            [error((str(path),), "输出须为 .xlsx 或 .json", "the output must be .xlsx or .json")]
        )


def write_actions(results: Sequence[Health], path: Path, lang: Lang = "both") -> None:
    write_atomic(path, actions_csv(results, lang))
