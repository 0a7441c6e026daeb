"""The application and decision contract (docs/design.md). Immutable pydantic models."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidatorFunctionWrapHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from creditbook.core.records import Frozen, Issue, Money, Number, Ratio, Text, text

# Bounds no real application comes near, generous on purpose: a value beyond one is a slip of the
# keyboard (or an attack), refused before the engine's 28-digit Decimal arithmetic meets it.
MAX_MONEY = 10**12  # a trillion in the application currency
MAX_MTOK_MONTH = 10**9  # a billion million tokens a month
MAX_DAYS = 3650  # ten years (days overdue, ramp days, stop-loss thresholds)
MAX_EVENTS = 10_000
MAX_CONSUMPTION_LINES = 10_000
MAX_STEPS = 100  # ramp steps, stop-loss steps
MAX_VALUES = 150_000  # JSON values in all; 10,000 full consumption lines are about 100,000
EARLIEST_APPLICATION, LATEST_APPLICATION = date(2000, 1, 1), date(2099, 12, 31)
MAX_RENEWAL_YEARS = 10  # after the application date
MAX_TEXT = 200
MAX_CONTEXT_KTOK = 100_000  # a hundred million tokens of input context per request


@dataclass(frozen=True)
class AtMost:
    """An upper bound refused as "unrealistically large"; `maximum` in the JSON Schema.

    A Decimal is checked before pydantic converts it: turning Decimal("1e99999999") or, for an
    int field, Decimal("1e-99999999") into an int would take minutes.
    """

    most: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        whole = source is int

        def check(value: Any, convert: ValidatorFunctionWrapHandler) -> Any:
            value = _not_bool(value)
            if isinstance(value, Decimal) and value.is_finite():
                if value.copy_abs() > self.most:
                    raise self._refusal()
                if whole:
                    if value != value.to_integral_value():
                        raise PydanticCustomError("whole_number", "must be a whole number")
                    value = int(value)
            converted = convert(value)
            if converted > self.most:
                raise self._refusal()
            return converted

        return core_schema.no_info_wrap_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "maximum": self.most}

    def _refusal(self) -> PydanticCustomError:
        return PydanticCustomError(
            "unrealistic", "unrealistically large (at most {most})", {"most": self.most}
        )


def _printable(value: str) -> str:
    """Control characters break printing and make openpyxl refuse the cell; U+FFFE and U+FFFF are
    not XML, so a workbook holding them cannot be opened. (Lone surrogates never get this far:
    pydantic refuses them as invalid Unicode.)"""
    for char in value:
        if unicodedata.category(char) == "Cc" or char in "\ufffe\uffff":
            raise PydanticCustomError(
                "unprintable",
                "contains the character {code}, which cannot be printed or kept in a workbook",
                {"code": f"U+{ord(char):04X}"},
            )
    return value


Line = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT), AfterValidator(_printable)
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT),
    AfterValidator(_printable),
]
CreditCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, max_length=MAX_TEXT),
    AfterValidator(_printable),
]
NonNegativeMoney = Annotated[Money, Field(ge=0), AtMost(MAX_MONEY)]
PositiveMoney = Annotated[Money, Field(gt=0), AtMost(MAX_MONEY)]
TokenVolume = Annotated[Number, Field(ge=0), AtMost(MAX_MTOK_MONTH)]
Days = Annotated[int, Field(ge=0), AtMost(MAX_DAYS)]
Events = Annotated[int, Field(ge=0), AtMost(MAX_EVENTS)]


def _not_bool(value: Any) -> Any:
    """true and false equal 1 and 0 in Python: refused where a number is meant."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_not_bool", "must be a number, not true/false")
    return value


PaymentTermsDays = Annotated[Literal[0, 15, 30, 45, 60, 90], BeforeValidator(_not_bool)]
BillingCycleDays = Annotated[Literal[7, 15, 30], BeforeValidator(_not_bool)]


class EntityType(StrEnum):
    LISTED = "listed"
    STATE_OWNED = "state_owned"
    PUBLIC_SECTOR = "public_sector"
    PRIVATE_LARGE = "private_large"
    PRIVATE_SME = "private_sme"
    STARTUP = "startup"
    INDIVIDUAL = "individual"


class Procurement(StrEnum):
    FORMAL_PO_CONTRACT = "formal_po_contract"
    CONTRACT_ONLY = "contract_only"
    AD_HOC = "ad_hoc"


class GuaranteeType(StrEnum):
    NONE = "none"
    PARENT_GUARANTEE = "parent_guarantee"
    BANK_GUARANTEE = "bank_guarantee"
    LETTER_OF_CREDIT = "letter_of_credit"
    CREDIT_INSURANCE = "credit_insurance"


class Currency(StrEnum):
    CNY = "CNY"
    USD = "USD"


class Provider(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    DEEPSEEK = "deepseek"
    VOLCENGINE_ARK = "volcengine_ark"
    ALIYUN_BAILIAN = "aliyun_bailian"
    OTHER = "other"


class Scenario(StrEnum):
    EXISTING = "existing"
    NEW = "new"


class CostClass(StrEnum):
    HIGH = "high"
    STANDARD = "standard"
    LOW = "low"


class Trigger(StrEnum):
    OVER_LIMIT = "over_limit"
    ABNORMAL_USAGE = "abnormal_usage"
    OVERDUE = "overdue"


class Action(StrEnum):
    """Stop-loss actions, mildest first: the order is the escalation order."""

    NOTIFY = "notify"
    PAUSE_NEW_QUOTA = "pause_new_quota"
    DISABLE_HIGH_COST_MODELS = "disable_high_cost_models"
    RATE_LIMIT = "rate_limit"
    REQUIRE_TOPUP = "require_topup"
    REQUEST_EMERGENCY_APPROVAL = "request_emergency_approval"
    SWITCH_TO_PREPAID = "switch_to_prepaid"
    SUSPEND_SERVICE = "suspend_service"


class Recovery(StrEnum):
    PAYMENT_RECEIVED = "payment_received"
    DEPOSIT_TOPPED_UP = "deposit_topped_up"
    REVIEW_APPROVED = "review_approved"
    USAGE_NORMALIZED = "usage_normalized"


class Structure(StrEnum):
    MONTHLY_SETTLEMENT = "monthly_settlement"
    LIMITED_MONTHLY_SETTLEMENT = "limited_monthly_settlement"
    DEPOSIT_BACKED = "deposit_backed"
    PREPAID = "prepaid"


class DecisionKind(StrEnum):
    APPROVE = "approve"  # as asked, no conditions
    APPROVE_REDUCED = "approve_reduced"  # less than asked, same structure, no conditions
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    COUNTER_OFFER = "counter_offer"
    PREPAID_ONLY = "prepaid_only"


class Material(StrEnum):
    """New materials that support an increase above the current limit."""

    AUDITED_FINANCIALS = "audited_financials"
    BANK_STATEMENTS = "bank_statements"
    ADDED_GUARANTEE = "added_guarantee"
    PURCHASE_COMMITMENT = "purchase_commitment"


class Role(StrEnum):
    """Who signs, in rising order of authority."""

    FINANCE_MANAGER = "finance_manager"
    RISK_MANAGER = "risk_manager"
    CFO = "cfo"
    CREDIT_COMMITTEE = "credit_committee"


# ---------------------------------------------------------------- application


def _in_enum_order(values: tuple[StrEnum, ...]) -> tuple[StrEnum, ...]:
    """Actions, recoveries and materials are sets; kept in declaration order (mildest action first)."""
    members = list(type(values[0])) if values else []
    return tuple(member for member in members if member in values)


class Profile(Frozen):
    """客户画像 Customer profile."""

    customer_name: Name
    credit_code: CreditCode | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "CN"
    entity_type: EntityType
    years_in_business: Annotated[Number, Field(ge=0), AtMost(500)]
    procurement: Procurement
    payment_terms_days: PaymentTermsDays
    relationship_months: Annotated[int, Field(ge=0), AtMost(1200)]
    on_time_ratio_12m: Annotated[Ratio, Field(le=1)] | None = None
    max_days_overdue_12m: Days = 0
    overdue_events_12m: Events = 0
    consecutive_overdue_invoices: Events = 0
    current_overdue_amount: NonNegativeMoney = Decimal(0)
    current_days_overdue: Days = 0
    # Invoices paid in the last 12 months; unknown (None) reads as one a month of relationship.
    # This and the two increase fields are left out of the hash at their defaults, so applications
    # hashed before they existed keep their hashes.
    paid_invoices_12m: Events | None = Field(default=None, exclude_if=lambda value: value is None)
    guarantee_type: GuaranteeType = GuaranteeType.NONE
    guarantee_amount: NonNegativeMoney = Decimal(0)
    requested_limit: PositiveMoney
    current_limit: NonNegativeMoney = Field(  # 0: a first application
        default=Decimal(0), exclude_if=lambda value: value == 0
    )
    new_materials: Annotated[
        tuple[Material, ...], Field(max_length=len(Material)), AfterValidator(_in_enum_order)
    ] = Field(default=(), exclude_if=lambda value: not value)
    currency: Currency = Currency.CNY
    application_date: Annotated[date, Field(ge=EARLIEST_APPLICATION, le=LATEST_APPLICATION)]
    contract_renewal_date: date | None = None
    sales_owner: Line = ""


class ConsumptionLine(Frozen):
    """预计消耗 One line of expected consumption (tokens per month, or a stated monthly spend)."""

    provider: Provider
    model: Name
    input_mtok_month: TokenVolume = Decimal(0)
    cached_input_mtok_month: TokenVolume = Decimal(0)
    output_mtok_month: TokenVolume = Decimal(0)
    monthly_spend: PositiveMoney | None = None
    peak_factor: Annotated[Number, Field(gt=0), AtMost(100)] = Decimal(1)
    scenario: Scenario = Scenario.EXISTING
    cost_class: CostClass | None = None
    # Typical input context per request, thousands of tokens: picks the price table's context tier.
    # Left out of the hash when not given, so applications hashed before it existed keep theirs.
    context_ktok: Annotated[Number, Field(ge=0), AtMost(MAX_CONTEXT_KTOK)] | None = Field(
        default=None, exclude_if=lambda value: value is None
    )


class RampStep(Frozen):
    from_day: Days
    limit: PositiveMoney


class Buffers(Frozen):
    """风险缓冲 Risk buffers."""

    deposit: NonNegativeMoney = Decimal(0)
    prepaid_balance: NonNegativeMoney = Decimal(0)
    billing_cycle_days: BillingCycleDays = 30
    ramp: Annotated[tuple[RampStep, ...], Field(max_length=MAX_STEPS)] = ()
    auto_recharge_threshold: NonNegativeMoney | None = None
    auto_recharge_amount: NonNegativeMoney | None = None


class StopLossStep(Frozen):
    """止损动作 One step of a stop-loss playbook."""

    trigger: Trigger
    threshold: Annotated[Number, Field(gt=0), AtMost(MAX_DAYS)]
    actions: Annotated[tuple[Action, ...], Field(min_length=1), AfterValidator(_in_enum_order)]
    recovery: Annotated[tuple[Recovery, ...], Field(min_length=1), AfterValidator(_in_enum_order)]


class Application(Frozen):
    profile: Profile
    consumption: Annotated[tuple[ConsumptionLine, ...], Field(max_length=MAX_CONSUMPTION_LINES)]
    buffers: Buffers = Buffers()
    stop_loss: Annotated[tuple[StopLossStep, ...], Field(max_length=MAX_STEPS)] = ()


# ------------------------------------------------------------------- decision


class ScoreLine(Frozen):
    factor: str
    label: Text
    value: Text
    points: int
    reason: Text


class SpendLine(Frozen):
    provider: Provider
    model: str
    monthly_spend: Money
    peak_monthly_spend: Money
    cost_class: CostClass
    basis: Text


class Exposure(Frozen):
    expected_monthly_spend: Money
    peak_monthly_spend: Money
    high_cost_share: Ratio
    new_scenario_share: Ratio
    need_based_limit: Money
    secured_buffers: Money
    unsecured_exposure: Money
    # The exposure window: usage accrues over the billing cycle, the invoice is due after the
    # terms, and grace days run before the overdue playbook bites.
    window_days: int
    first_invoice_due_day: int
    days_to_exhaust: int | None  # approved limit ÷ daily expected spend; None when prepaid
    days_to_exhaust_peak: int | None
    window_spend: Money
    window_spend_peak: Money
    # What we pay upstream for what the customer can draw before the hard stop, less security.
    hard_stop_draw: Money
    upstream_cost_ratio: Ratio
    security_held: Money
    provider_cost_at_risk: Money
    provider_cost_basis: Text
    lines: tuple[SpendLine, ...]

    def lasting(self) -> Text:
        """How long the line lasts against the day its first invoice falls due, in one line."""
        days, peak, due = (
            self.days_to_exhaust,
            self.days_to_exhaust_peak,
            self.first_invoice_due_day,
        )
        if days is None:
            return text(
                f"不计算可用天数（无信用额度或无预计消耗）；首张账单第 {due} 天到期",
                f"no days to count (no credit line, or no expected spend); first invoice due on day {due}",
            )
        return text(
            f"额度按预计消耗可用 {days} 天（峰值 {peak} 天），首张账单第 {due} 天到期",
            f"the line lasts {days} days at expected spend ({peak} at peak); the first invoice is "
            f"due on day {due}",
        )


class Cap(Frozen):
    """One of the limits the approved line may not exceed; the smallest binds."""

    id: str
    label: Text
    amount: Money
    binding: bool


class Approver(Frozen):
    role: Role
    reason: Text


class Governance(Frozen):
    """A downgrade trigger or an upgrade condition, with its threshold for this customer."""

    id: str
    description: Text
    threshold: Number
    unit: str


class StopLossRule(Frozen):
    trigger: Trigger
    threshold: Number
    actions: tuple[Action, ...]
    escalation: tuple[Action, ...]
    recovery: tuple[Recovery, ...]


class Alternative(Frozen):
    structure: Structure
    limit: Money
    required_deposit: Money
    billing_cycle_days: int | None = None
    payment_terms_days: int | None = None
    auto_recharge_threshold: Money | None = None
    auto_recharge_amount: Money | None = None
    description: Text


class Audit(Frozen):
    fingerprint: str
    application_hash: str
    policy_id: str
    policy_version: str
    policy_hash: str
    prices_hash: str
    engine_version: str
    evaluated_at: datetime


class Decision(Frozen):
    customer_name: str
    credit_code: str | None
    decision: DecisionKind
    tier: str
    tier_name: Text
    score: int
    score_breakdown: tuple[ScoreLine, ...]
    tier_trace: tuple[Text, ...]
    approved_limit: Money
    requested_limit: Money
    current_limit: Money
    limit_caps: tuple[Cap, ...]
    currency: Currency
    structure: Structure
    payment_terms_days: int
    billing_cycle_days: int
    required_deposit: Money
    deposit_shortfall: Money
    conditions: tuple[Text, ...]
    alternatives: tuple[Alternative, ...]
    ramp: tuple[RampStep, ...]
    exposure: Exposure
    review_interval_days: int
    next_review_date: date
    downgrade_triggers: tuple[Governance, ...]
    upgrade_conditions: tuple[Governance, ...]
    stop_loss: tuple[StopLossRule, ...]
    approvals_required: tuple[Approver, ...]
    reasons: tuple[Text, ...]
    issues: tuple[Issue, ...]
    audit: Audit
