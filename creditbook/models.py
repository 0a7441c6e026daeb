"""The application and decision contract (see DESIGN.md). Immutable pydantic models."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from creditbook.records import Frozen, Issue, Money, Number, Ratio, Text

NonNegativeMoney = Annotated[Money, Field(ge=0)]
PositiveMoney = Annotated[Money, Field(gt=0)]
Count = Annotated[int, Field(ge=0)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PaymentTermsDays = Literal[0, 15, 30, 45, 60, 90]
BillingCycleDays = Literal[7, 15, 30]


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
    APPROVE = "approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    COUNTER_OFFER = "counter_offer"
    PREPAID_ONLY = "prepaid_only"


# ---------------------------------------------------------------- application


class Profile(Frozen):
    """客户画像 Customer profile."""

    customer_name: Name
    credit_code: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)] | None = (
        None
    )
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "CN"
    entity_type: EntityType
    years_in_business: Annotated[Number, Field(ge=0, le=500)]
    procurement: Procurement
    payment_terms_days: PaymentTermsDays
    relationship_months: Annotated[int, Field(ge=0, le=1200)]
    on_time_ratio_12m: Annotated[Ratio, Field(le=1)] | None = None
    max_days_overdue_12m: Count = 0
    overdue_events_12m: Count = 0
    consecutive_overdue_invoices: Count = 0
    current_overdue_amount: NonNegativeMoney = Decimal(0)
    current_days_overdue: Count = 0
    guarantee_type: GuaranteeType = GuaranteeType.NONE
    guarantee_amount: NonNegativeMoney = Decimal(0)
    requested_limit: PositiveMoney
    currency: Currency = Currency.CNY
    application_date: date
    contract_renewal_date: date | None = None
    sales_owner: str = ""


class ConsumptionLine(Frozen):
    """预计消耗 One line of expected consumption (tokens per month, or a stated monthly spend)."""

    provider: Provider
    model: Name
    input_mtok_month: Annotated[Number, Field(ge=0)] = Decimal(0)
    cached_input_mtok_month: Annotated[Number, Field(ge=0)] = Decimal(0)
    output_mtok_month: Annotated[Number, Field(ge=0)] = Decimal(0)
    monthly_spend: PositiveMoney | None = None
    peak_factor: Annotated[Number, Field(gt=0, le=100)] = Decimal(1)
    scenario: Scenario = Scenario.EXISTING
    cost_class: CostClass | None = None


class RampStep(Frozen):
    from_day: Count
    limit: PositiveMoney


class Buffers(Frozen):
    """风险缓冲 Risk buffers."""

    deposit: NonNegativeMoney = Decimal(0)
    prepaid_balance: NonNegativeMoney = Decimal(0)
    billing_cycle_days: BillingCycleDays = 30
    ramp: tuple[RampStep, ...] = ()
    auto_recharge_threshold: NonNegativeMoney | None = None
    auto_recharge_amount: NonNegativeMoney | None = None


def _in_enum_order(values: tuple[StrEnum, ...]) -> tuple[StrEnum, ...]:
    """Actions and recoveries are sets; kept in declaration order (mildest action first)."""
    members = list(type(values[0])) if values else []
    return tuple(member for member in members if member in values)


class StopLossStep(Frozen):
    """止损动作 One step of a stop-loss playbook."""

    trigger: Trigger
    threshold: Annotated[Number, Field(gt=0)]
    actions: Annotated[tuple[Action, ...], Field(min_length=1), AfterValidator(_in_enum_order)]
    recovery: Annotated[tuple[Recovery, ...], Field(min_length=1), AfterValidator(_in_enum_order)]


class Application(Frozen):
    profile: Profile
    consumption: tuple[ConsumptionLine, ...]
    buffers: Buffers = Buffers()
    stop_loss: tuple[StopLossStep, ...] = ()


# ------------------------------------------------------------------- decision


class ScoreLine(Frozen):
    factor: str
    label: Text
    value: str
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
    provider_cost_at_risk: Money
    lines: tuple[SpendLine, ...]


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
    reasons: tuple[Text, ...]
    issues: tuple[Issue, ...]
    audit: Audit
