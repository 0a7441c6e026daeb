"""The workbook layout, declared once: sheets, every input's cell, labels, types, dropdowns, notes.

The builder, both adapters (openpyxl and xlwings) and the tests read this module; nothing else
hard-codes a cell address. Forms are label/input/note rows; tables are Excel tables with one row per
item. A `Field` knows its contract key, so a cell maps to a contract path and back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from creditbook.core.labels import COUNTRIES, display, label, shown
from creditbook.core.models import (
    Action,
    CostClass,
    Currency,
    EntityType,
    GuaranteeType,
    Material,
    Procurement,
    Provider,
    Recovery,
    Scenario,
    Trigger,
)
from creditbook.core.records import Lang, Path, Text, text

Kind = Literal["text", "integer", "number", "money", "ratio", "mtok", "date", "choice", "flag"]
NUMBER_FORMATS: dict[Kind, str] = {
    "text": "@",
    "integer": "0",
    "number": "0.##",
    "money": "#,##0.00",
    "ratio": "0.0%",
    "mtok": "#,##0.###",
    "date": "yyyy-mm-dd",
    "choice": "General",
    "flag": "General",
}
FLAG_MARK = "✓"


# Choices: an enumeration (its labels are shown), numbers, or codes with their labels (countries).
Choices = type[StrEnum] | tuple[int, ...] | Mapping[str, Text]


@dataclass(frozen=True)
class Field:
    """One input: its contract key, bilingual label, kind, dropdown values, help note.

    An `open_list` dropdown suggests values but takes others too (a country by its ISO code, a
    model the price table does not list); `price_models` fills its list from the price table."""

    key: str
    label: Text
    kind: Kind
    required: bool = False
    choices: Choices | None = None
    note: Text | None = None
    member: StrEnum | None = None  # a flag column: this value is in the list `key`
    open_list: bool = False
    price_models: bool = False

    @property
    def number_format(self) -> str:
        return NUMBER_FORMATS[self.kind]

    def options_in(self, lang: Lang) -> tuple[str, ...]:
        """Dropdown texts in a language, in the order they are offered (price models aside)."""
        if self.kind == "flag":
            return (FLAG_MARK,)
        if isinstance(self.choices, tuple):
            return tuple(str(choice) for choice in self.choices)
        if isinstance(self.choices, Mapping):
            return tuple(shown(name, lang) for name in self.choices.values())
        if self.choices is None:
            return ()
        return tuple(display(choice, lang) for choice in self.choices)

    @property
    def options(self) -> tuple[str, ...]:
        return self.options_in("both")

    @property
    def list_name(self) -> str:
        """Defined name of the dropdown list on the Lists sheet."""
        return f"list_{self.key}"

    def heading_in(self, lang: Lang) -> str:
        """Label cell text (`中文 English` for both languages), with * when required."""
        label_text = shown(self.label, lang)
        return f"{label_text} *" if self.required else label_text

    @property
    def heading(self) -> str:
        return self.heading_in("both")


@dataclass(frozen=True)
class Form:
    """Label in column B, input in column C, note in column D, one field a row."""

    block: str
    first_row: int
    fields: tuple[Field, ...]
    label_column: str = "B"
    input_column: str = "C"
    note_column: str = "D"

    def row(self, field: str | Field) -> int:
        """A field's row, by the field or by its key when one row has it (tick rows share a key)."""
        if isinstance(field, Field):
            return self.first_row + self.fields.index(field)
        rows = [index for index, each in enumerate(self.fields) if each.key == field]
        if len(rows) != 1:
            raise KeyError(f"{field!r} is the key of {len(rows)} rows of the {self.block} form")
        return self.first_row + rows[0]

    def cell(self, field: str | Field) -> str:
        return f"{self.input_column}{self.row(field)}"

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.fields) - 1


@dataclass(frozen=True)
class Table:
    """An Excel table: a header row, then one item a row, starting in column B."""

    block: Path
    name: str
    header_row: int
    columns: tuple[Field, ...]
    capacity: int  # rows formatted and validated in the template
    first_column: int = 2

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1

    def letter(self, index: int) -> str:
        return column_letter(self.first_column + index)

    @property
    def ref(self) -> str:
        """The table's range in the template (header and formatted rows)."""
        last = self.letter(len(self.columns) - 1)
        return f"{self.letter(0)}{self.header_row}:{last}{self.header_row + self.capacity}"


@dataclass(frozen=True)
class InputSheet:
    name: str
    code_name: str
    title: Text
    intro: Text
    form: Form | None = None
    tables: tuple[Table, ...] = ()

    def fields(self) -> Iterator[Field]:
        if self.form:
            yield from self.form.fields
        for table in self.tables:
            yield from table.columns


def column_letter(number: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _flags(key: str, values: type[StrEnum]) -> tuple[Field, ...]:
    return tuple(Field(key=key, label=label(value), kind="flag", member=value) for value in values)


def _materials() -> tuple[Field, ...]:
    """One tick row per new material an increase request brings (the form's list of values)."""
    note = text("提额申请新提交的材料，勾选 ✓", "New material supporting an increase: tick with ✓")
    return tuple(
        Field(
            key="new_materials",
            label=text(f"新提交：{label(value).zh}", f"New: {label(value).en}"),
            kind="flag",
            member=value,
            note=note if index == 0 else None,
        )
        for index, value in enumerate(Material)
    )


PROFILE = InputSheet(
    name="Profile",
    code_name="shProfile",
    title=text("客户画像", "Customer profile"),
    intro=text(
        "填写黄色单元格；带 * 为必填。逾期与付款记录按近 12 个月统计。\n"
        "按“评估”没有反应？先安装 xlwings 加载项（README）；邮件或下载来的文件：右键 → 属性 → "
        "解除锁定，或放入受信任位置、已同步的 SharePoint / OneDrive 文件夹。",
        "Fill the yellow cells; * marks required fields. Payment history covers the last 12 months.\n"
        "Evaluate does nothing? Install the xlwings add-in (README); a file from e-mail or a download: "
        "Properties → Unblock, or open it from a Trusted Location or a synced SharePoint/OneDrive folder.",
    ),
    form=Form(
        block="profile",
        first_row=5,
        fields=(
            Field(
                "customer_name",
                text("客户名称", "Customer name"),
                "text",
                required=True,
                note=text("营业执照上的法定名称", "Legal name as on the business licence"),
            ),
            Field(
                "credit_code",
                text("统一社会信用代码", "Unified social credit code"),
                "text",
                note=text(
                    "18 位，中国企业必填，系统校验校验位",
                    "18 characters; required for Chinese companies; the check character is verified",
                ),
            ),
            Field(
                "country",
                text("国家/地区", "Country or region"),
                "choice",
                choices=COUNTRIES,
                open_list=True,
                note=text(
                    "默认中国；列表中没有的国家填两位国家代码（如 CH）",
                    "China by default; a country not in the list: its two-letter code (e.g. CH)",
                ),
            ),
            Field(
                "entity_type",
                text("主体类型", "Entity type"),
                "choice",
                required=True,
                choices=EntityType,
            ),
            Field(
                "years_in_business", text("经营年限", "Years in business"), "number", required=True
            ),
            Field(
                "procurement",
                text("采购流程", "Procurement"),
                "choice",
                required=True,
                choices=Procurement,
            ),
            Field(
                "payment_terms_days",
                text("申请账期（天）", "Requested payment terms (days)"),
                "choice",
                required=True,
                choices=(0, 15, 30, 45, 60, 90),
            ),
            Field(
                "relationship_months",
                text("合作月数", "Relationship (months)"),
                "integer",
                required=True,
                note=text("0 表示新客户", "0 means a new customer"),
            ),
            Field(
                "on_time_ratio_12m",
                text("按时付款率", "On-time payment ratio"),
                "ratio",
                note=text("已有合作时必填，如 95%", "Required when there is history, e.g. 95%"),
            ),
            Field("max_days_overdue_12m", text("最长逾期天数", "Max days overdue"), "integer"),
            Field("overdue_events_12m", text("逾期次数", "Overdue events"), "integer"),
            Field(
                "consecutive_overdue_invoices",
                text("连续逾期账单数", "Consecutive overdue invoices"),
                "integer",
            ),
            Field("current_overdue_amount", text("当前逾期金额", "Overdue amount now"), "money"),
            Field("current_days_overdue", text("当前逾期天数", "Days overdue now"), "integer"),
            Field(
                "guarantee_type",
                text("担保方式", "Guarantee type"),
                "choice",
                choices=GuaranteeType,
            ),
            Field(
                "guarantee_amount",
                text("担保金额", "Guarantee amount"),
                "money",
                note=text(
                    "银行保函、信用证的金额计入已持有的担保，抵减无担保敞口",
                    "A bank guarantee or letter of credit counts as security held against the line",
                ),
            ),
            Field("requested_limit", text("申请额度", "Requested limit"), "money", required=True),
            Field("currency", text("币种", "Currency"), "choice", required=True, choices=Currency),
            Field("application_date", text("申请日期", "Application date"), "date", required=True),
            Field(
                "contract_renewal_date",
                text("合同续约日", "Contract renewal date"),
                "date",
                note=text(
                    "早于常规复核日时作为复核日", "Becomes the review date when it comes first"
                ),
            ),
            Field("sales_owner", text("销售负责人", "Sales owner"), "text"),
            Field(
                "current_limit",
                text("现有额度", "Current limit"),
                "money",
                note=text(
                    "申请提额时填写客户现有的授信额度；首次申请留空",
                    "For an increase, the limit the customer has now; blank for a first "
                    "application",
                ),
            ),
            *_materials(),
            Field(
                "paid_invoices_12m",
                text("近 12 个月已付账单数", "Invoices paid in 12 months"),
                "integer",
                note=text(
                    "不填时按合作月数计，最多 12 张",
                    "Blank: one a month of the relationship, at most 12",
                ),
            ),
        ),
    ),
)

CONSUMPTION = InputSheet(
    name="Consumption",
    code_name="shConsumption",
    title=text("预计消耗", "Expected consumption"),
    intro=text(
        "每个模型一行，用量为每月百万 token；填写月消耗金额时按申报金额计算，与 token 用量相差过大时取较高者。"
        "可在表格末尾继续添加行。",
        "One row per model, volumes in millions of tokens a month; a monthly spend is used as "
        "stated unless the tokens at list price differ too much, then the higher figure is used. "
        "Add rows at the end of the table.",
    ),
    tables=(
        Table(
            block=("consumption",),
            name="tblConsumption",
            header_row=5,
            capacity=30,
            columns=(
                Field(
                    "provider",
                    text("供应商", "Provider"),
                    "choice",
                    required=True,
                    choices=Provider,
                ),
                Field(
                    "model",
                    text("模型", "Model"),
                    "text",
                    required=True,
                    open_list=True,
                    price_models=True,
                    note=text(
                        "从价格表的模型中选择；价格表没有的模型直接填写名称并选择成本等级",
                        "Pick a model of the price table; another model: type its name and "
                        "choose a cost class",
                    ),
                ),
                Field("input_mtok_month", text("输入 百万token/月", "Input Mtok/month"), "mtok"),
                Field(
                    "cached_input_mtok_month",
                    text("缓存输入 百万token/月", "Cached input Mtok/month"),
                    "mtok",
                ),
                Field("output_mtok_month", text("输出 百万token/月", "Output Mtok/month"), "mtok"),
                Field("monthly_spend", text("月消耗金额", "Monthly spend"), "money"),
                Field(
                    "peak_factor",
                    text("峰值系数", "Peak factor"),
                    "number",
                    note=text(
                        "峰值月 ÷ 平均月，不小于 1", "Peak month ÷ average month, at least 1"
                    ),
                ),
                Field("scenario", text("场景", "Scenario"), "choice", choices=Scenario),
                Field(
                    "cost_class",
                    text("成本等级", "Cost class"),
                    "choice",
                    choices=CostClass,
                    note=text("价格表外的模型填写", "For models not in the price table"),
                ),
                Field(
                    "context_ktok",
                    text("典型上下文 千token/次", "Typical context ktok/request"),
                    "number",
                    note=text(
                        "每次请求的典型输入长度（千 token），用于选择价格表的上下文档位；"
                        "不填时按最贵的档位计算",
                        "Typical input per request, thousands of tokens: picks the price "
                        "table's context tier; left blank, the most expensive tier is used",
                    ),
                ),
            ),
        ),
    ),
)

BUFFERS = InputSheet(
    name="Buffers",
    code_name="shBuffers",
    title=text("风险缓释", "Security and prepayment"),
    intro=text(
        "保证金、预付余额、账单周期、自动充值与分阶段额度。",
        "Deposit, prepaid balance, billing cycle, auto-recharge and a staged ramp-up.",
    ),
    form=Form(
        block="buffers",
        first_row=5,
        fields=(
            Field("deposit", text("保证金", "Deposit"), "money"),
            Field("prepaid_balance", text("预付余额", "Prepaid balance"), "money"),
            Field(
                "billing_cycle_days",
                text("账单周期（天）", "Billing cycle (days)"),
                "choice",
                choices=(7, 15, 30),
            ),
            Field(
                "auto_recharge_threshold",
                text("自动充值触发余额", "Auto-recharge threshold"),
                "money",
            ),
            Field("auto_recharge_amount", text("自动充值金额", "Auto-recharge amount"), "money"),
        ),
    ),
    tables=(
        Table(
            block=("buffers", "ramp"),
            name="tblRamp",
            header_row=13,
            capacity=6,
            columns=(
                Field("from_day", text("起始天", "From day"), "integer", required=True),
                Field("limit", text("额度", "Limit"), "money", required=True),
            ),
        ),
    ),
)

STOP_LOSS = InputSheet(
    name="StopLoss",
    code_name="shStopLoss",
    title=text("止损动作", "Stop-loss actions"),
    intro=text(
        "每行一个触发阶梯：阈值逐级升高，勾选动作与恢复条件。"
        "超额度：已用 ÷ 额度；异常消耗：日消耗 ÷ 近7日日均；逾期：天数。",
        "One step a row, thresholds rising; tick the actions and the recovery. Over limit: used ÷ "
        "limit; abnormal usage: daily ÷ trailing 7-day average; overdue: days.",
    ),
    tables=(
        Table(
            block=("stop_loss",),
            name="tblStopLoss",
            header_row=5,
            capacity=15,
            columns=(
                Field(
                    "trigger", text("触发条件", "Trigger"), "choice", required=True, choices=Trigger
                ),
                Field("threshold", text("阈值", "Threshold"), "number", required=True),
                *_flags("actions", Action),
                *_flags("recovery", Recovery),
            ),
        ),
    ),
)

INPUT_SHEETS: tuple[InputSheet, ...] = (PROFILE, CONSUMPTION, BUFFERS, STOP_LOSS)
POLICY_SHEET, PRICES_SHEET, APPROVAL_SHEET, AUDIT_SHEET = "Policy", "Prices", "Approval", "AuditLog"
ANNEX_SHEET = "Annex"  # the contract annex (合同附表) the customer signs
LISTS_SHEET, CONF_SHEET = "Lists", "xlwings.conf"
# The language the workbook's documents are written in, remembered on the hidden xlwings.conf
# sheet beside xlwings' own settings: those are the A:B pairs from A1 down, which finance may
# extend (Interpreter_Win ...), so ours is in D1:E1, where neither xlwings nor a new setting goes.
# `creditbook new --lang` and the ribbon's language list write it; both readers fill
# WorkbookInputs.language.
LANGUAGE_KEY, LANGUAGE_KEY_CELL, LANGUAGE_CELL = "Creditbook Language", "D1", "E1"
LANGUAGES: tuple[Lang, ...] = ("zh", "en", "both")
FORM_HEADINGS: tuple[Text, ...] = (
    text("项目", "Item"),
    text("填写", "Input"),
    text("说明", "Note"),
)
# Every sheet in workbook order with its VBA code name (one document module each).
SHEETS: tuple[tuple[str, str], ...] = (
    *((sheet.name, sheet.code_name) for sheet in INPUT_SHEETS),
    (POLICY_SHEET, "shPolicy"),
    (PRICES_SHEET, "shPrices"),
    (APPROVAL_SHEET, "shApproval"),
    (ANNEX_SHEET, "shAnnex"),
    (AUDIT_SHEET, "shAuditLog"),
    (LISTS_SHEET, "shLists"),
    (CONF_SHEET, "shXlwingsConf"),
)
POLICY_FIRST_ROW = 5  # Policy sheet: path in column B, value in column C, from this row down
POLICY_PATH_COLUMN = 2
PRICES_TABLE, PRICES_HEADER_ROW = "tblPrices", 4
AUDIT_HEADER_ROW = 4
AUDIT_FIRST_COLUMN = 2  # column B
AUDIT_COLUMNS: tuple[Text, ...] = (
    text("评估时间", "Evaluated at"),
    text("评估人", "Evaluated by"),
    text("指纹", "Fingerprint"),
    text("客户", "Customer"),
    text("决定", "Decision"),
    text("批准额度", "Approved limit"),
    text("币种", "Currency"),
    text("政策", "Policy"),
    text("政策哈希", "Policy hash"),
)
UDF_MODULE = "udfs.credit"


def udf_blocks() -> Iterator[tuple[InputSheet, Form | Table, str]]:
    """Each input block with the range a live-check UDF formula passes for it, in argument order."""
    for sheet in INPUT_SHEETS:
        if sheet.form:
            first, last = sheet.form.first_row, sheet.form.last_row
            column = sheet.form.input_column
            yield sheet, sheet.form, f"{sheet.name}!${column}${first}:${column}${last}"
        for table in sheet.tables:
            yield sheet, table, f"{table.name}[#Data]"
