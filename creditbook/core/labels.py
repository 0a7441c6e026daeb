"""Bilingual labels for every contract value (中文 first): one table for the CLI, sheets and dropdowns."""

from __future__ import annotations

from enum import StrEnum

from creditbook.core.models import (
    Action,
    CostClass,
    Currency,
    DecisionKind,
    EntityType,
    GuaranteeType,
    Material,
    Procurement,
    Provider,
    Recovery,
    Role,
    Scenario,
    Structure,
    Trigger,
)
from creditbook.core.records import Lang, Text, text

LABELS: dict[StrEnum, Text] = {
    EntityType.LISTED: text("上市公司", "Listed"),
    EntityType.STATE_OWNED: text("国有企业", "State-owned"),
    EntityType.PUBLIC_SECTOR: text("公共部门", "Public sector"),
    EntityType.PRIVATE_LARGE: text("大型民营企业", "Large private"),
    EntityType.PRIVATE_SME: text("中小民营企业", "Private SME"),
    EntityType.STARTUP: text("初创企业", "Startup"),
    EntityType.INDIVIDUAL: text("个人", "Individual"),
    Procurement.FORMAL_PO_CONTRACT: text("合同加采购订单", "Contract and PO"),
    Procurement.CONTRACT_ONLY: text("仅合同", "Contract only"),
    Procurement.AD_HOC: text("临时采购", "Ad hoc"),
    GuaranteeType.NONE: text("无", "None"),
    GuaranteeType.PARENT_GUARANTEE: text("母公司担保", "Parent guarantee"),
    GuaranteeType.BANK_GUARANTEE: text("银行保函", "Bank guarantee"),
    GuaranteeType.LETTER_OF_CREDIT: text("信用证", "Letter of credit"),
    GuaranteeType.CREDIT_INSURANCE: text("信用保险", "Credit insurance"),
    Currency.CNY: text("人民币", "CNY"),
    Currency.USD: text("美元", "USD"),
    Provider.OPENAI: text("OpenAI", "OpenAI"),
    Provider.ANTHROPIC: text("Anthropic", "Anthropic"),
    Provider.DEEPSEEK: text("深度求索", "DeepSeek"),
    Provider.VOLCENGINE_ARK: text("火山方舟", "Volcano Ark"),
    Provider.ALIYUN_BAILIAN: text("阿里云百炼", "Bailian"),
    Provider.OTHER: text("其他", "Other"),
    Scenario.EXISTING: text("已上线", "Existing"),
    Scenario.NEW: text("新场景", "New"),
    CostClass.HIGH: text("高成本", "High"),
    CostClass.STANDARD: text("标准", "Standard"),
    CostClass.LOW: text("低成本", "Low"),
    Trigger.OVER_LIMIT: text("超额度", "Over limit"),
    Trigger.ABNORMAL_USAGE: text("异常消耗", "Abnormal usage"),
    Trigger.OVERDUE: text("逾期", "Overdue"),
    Action.NOTIFY: text("通知", "Notify"),
    Action.PAUSE_NEW_QUOTA: text("暂停新增额度", "Pause new quota"),
    Action.DISABLE_HIGH_COST_MODELS: text("关闭高成本模型", "Disable high-cost models"),
    Action.RATE_LIMIT: text("限流", "Rate limit"),
    Action.REQUIRE_TOPUP: text("要求充值", "Require top-up"),
    Action.REQUEST_EMERGENCY_APPROVAL: text("提请紧急审批", "Request emergency approval"),
    Action.SWITCH_TO_PREPAID: text("转为预付", "Switch to prepaid"),
    Action.SUSPEND_SERVICE: text("暂停服务", "Suspend service"),
    Recovery.PAYMENT_RECEIVED: text("收到付款", "Payment received"),
    Recovery.DEPOSIT_TOPPED_UP: text("补足保证金", "Deposit topped up"),
    Recovery.REVIEW_APPROVED: text("复核批准", "Review approved"),
    Recovery.USAGE_NORMALIZED: text("消耗恢复正常", "Usage normalized"),
    Structure.MONTHLY_SETTLEMENT: text("月结", "Monthly settlement"),
    Structure.LIMITED_MONTHLY_SETTLEMENT: text("受限月结", "Limited monthly settlement"),
    Structure.DEPOSIT_BACKED: text("保证金担保", "Deposit-backed"),
    Structure.PREPAID: text("预付", "Prepaid"),
    DecisionKind.APPROVE: text("批准", "Approve"),
    DecisionKind.APPROVE_REDUCED: text("调减额度批准", "Approve a reduced limit"),
    DecisionKind.APPROVE_WITH_CONDITIONS: text("附条件批准", "Approve with conditions"),
    DecisionKind.COUNTER_OFFER: text("变更授信结构", "Counter-offer"),
    DecisionKind.PREPAID_ONLY: text("仅限预付", "Prepaid only"),
    Material.AUDITED_FINANCIALS: text("经审计财务报表", "Audited financial statements"),
    Material.BANK_STATEMENTS: text("银行流水", "Bank statements"),
    Material.ADDED_GUARANTEE: text("追加担保", "Added guarantee"),
    Material.PURCHASE_COMMITMENT: text("书面采购承诺", "Signed purchase commitment"),
    Role.FINANCE_MANAGER: text("财务经理", "Finance manager"),
    Role.RISK_MANAGER: text("风控经理", "Risk manager"),
    Role.CFO: text("财务总监", "CFO"),
    Role.CREDIT_COMMITTEE: text("信用审批委员会", "Credit committee"),
}


# Countries and regions a customer may be registered in, by ISO 3166-1 alpha-2 code; any other
# two-letter code is still accepted where a country is asked for.
COUNTRIES: dict[str, Text] = {
    "CN": text("中国", "China"),
    "HK": text("中国香港", "Hong Kong, China"),
    "MO": text("中国澳门", "Macao, China"),
    "TW": text("中国台湾", "Taiwan, China"),
    "SG": text("新加坡", "Singapore"),
    "JP": text("日本", "Japan"),
    "KR": text("韩国", "South Korea"),
    "MY": text("马来西亚", "Malaysia"),
    "TH": text("泰国", "Thailand"),
    "VN": text("越南", "Vietnam"),
    "ID": text("印度尼西亚", "Indonesia"),
    "IN": text("印度", "India"),
    "AE": text("阿联酋", "United Arab Emirates"),
    "SA": text("沙特阿拉伯", "Saudi Arabia"),
    "US": text("美国", "United States"),
    "CA": text("加拿大", "Canada"),
    "GB": text("英国", "United Kingdom"),
    "DE": text("德国", "Germany"),
    "FR": text("法国", "France"),
    "NL": text("荷兰", "Netherlands"),
    "AU": text("澳大利亚", "Australia"),
    "BR": text("巴西", "Brazil"),
}


def label(value: StrEnum) -> Text:
    return LABELS[value]


def shown(value: Text, lang: Lang = "both") -> str:
    """A label as a cell or dropdown shows it: `上市公司 Listed` for both languages (one word when
    they agree), else the one language."""
    if lang == "zh":
        return value.zh
    if lang == "en" or value.zh == value.en:
        return value.en
    return f"{value.zh} {value.en}"


def display(value: StrEnum, lang: Lang = "both") -> str:
    """The dropdown text of a value: `上市公司 Listed`, `上市公司` or `Listed`."""
    return shown(LABELS[value], lang)


def country(code: str) -> Text:
    """A country code as people read it: 新加坡（SG） / Singapore (SG)."""
    name = COUNTRIES.get(code)
    if name is None:
        return text(code, code)
    return text(f"{name.zh}（{code}）", f"{name.en} ({code})")
