"""The `creditbook` command line, run for real in a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from creditbook.core.models import DecisionKind

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "applications").glob("*.json"))
EXAMPLES_BY_NAME = {path.name: path for path in EXAMPLES}
EXAMPLE_BYTES = {path.name: path.read_bytes() for path in EXAMPLES}  # before any evaluation
SHIPPED_POLICY = Path(str(resources.files("creditbook.data").joinpath("policy.yaml")))
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")

DECISION_KEYS = {
    "decision",
    "tier",
    "score",
    "score_breakdown",
    "approved_limit",
    "currency",
    "structure",
    "payment_terms_days",
    "billing_cycle_days",
    "required_deposit",
    "conditions",
    "exposure",
    "review_interval_days",
    "next_review_date",
    "downgrade_triggers",
    "upgrade_conditions",
    "stop_loss",
    "reasons",
    "issues",
    "audit",
}
EXPOSURE_KEYS = {
    "expected_monthly_spend",
    "peak_monthly_spend",
    "high_cost_share",
    "need_based_limit",
    "unsecured_exposure",
    "provider_cost_at_risk",
}
AUDIT_KEYS = {"fingerprint", "policy_id", "policy_version", "engine_version", "evaluated_at"}
PROFILE_FIELDS = {
    "customer_name",
    "credit_code",
    "country",
    "entity_type",
    "years_in_business",
    "procurement",
    "payment_terms_days",
    "relationship_months",
    "on_time_ratio_12m",
    "max_days_overdue_12m",
    "overdue_events_12m",
    "consecutive_overdue_invoices",
    "current_overdue_amount",
    "guarantee_type",
    "guarantee_amount",
    "requested_limit",
    "currency",
    "application_date",
    "contract_renewal_date",
    "sales_owner",
}

Run = subprocess.CompletedProcess[str]


def creditbook(*args: str | Path) -> Run:
    return subprocess.run(
        [sys.executable, "-m", "creditbook", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONUTF8": "1"},
        timeout=120,
        check=False,
    )


def assert_no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stdout and "Traceback" not in run.stderr


def example_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLES_BY_NAME[name].read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def example_runs() -> dict[str, Run]:
    return {
        path.name: creditbook("evaluate", "--input", path, "--json", "--lang", "en")
        for path in EXAMPLES
    }


def decisions(runs: dict[str, Run]) -> dict[str, dict[str, Any]]:
    return {name: json.loads(run.stdout) for name, run in runs.items()}


# ------------------------------------------------------------------ entry points


def test_console_script_is_installed() -> None:
    script = Path(sysconfig.get_path("scripts")) / (
        "creditbook.exe" if os.name == "nt" else "creditbook"
    )
    assert script.exists()
    run = subprocess.run(
        [script, "schema"], capture_output=True, text=True, encoding="utf-8", check=False
    )
    assert run.returncode == 0
    assert "customer_name" in json.loads(run.stdout)["$defs"]["Profile"]["properties"]


# ------------------------------------------------------------------ evaluate: examples


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 4


def test_every_example_evaluates(example_runs: dict[str, Run]) -> None:
    for name, run in example_runs.items():
        assert run.returncode == 0, f"{name}: {run.stderr}"
        assert_no_traceback(run)


def test_decision_json_has_the_contract_keys(example_runs: dict[str, Run]) -> None:
    for decision in decisions(example_runs).values():
        assert set(decision) >= DECISION_KEYS
        assert set(decision["exposure"]) >= EXPOSURE_KEYS
        assert set(decision["audit"]) >= AUDIT_KEYS
        for line in decision["score_breakdown"]:
            assert {"factor", "value", "points", "reason"} <= set(line)
        for item in (*decision["downgrade_triggers"], *decision["upgrade_conditions"]):
            assert {"id", "description", "threshold"} <= set(item)
        for rule in decision["stop_loss"]:
            assert {"trigger", "threshold", "actions", "escalation", "recovery"} <= set(rule)
        for issue in decision["issues"]:
            assert {"severity", "location", "message"} <= set(issue)


def test_decision_json_money_is_numbers(example_runs: dict[str, Run]) -> None:
    for decision in decisions(example_runs).values():
        for key in ("approved_limit", "required_deposit"):
            assert type(decision[key]) in (int, float)
        for key in EXPOSURE_KEYS:
            assert type(decision["exposure"][key]) in (int, float)
        assert sum(line["points"] for line in decision["score_breakdown"]) == decision["score"]


def test_examples_cover_every_kind_of_decision(example_runs: dict[str, Run]) -> None:
    kinds = {decision["decision"] for decision in decisions(example_runs).values()}
    assert kinds == {kind.value for kind in DecisionKind}


def test_english_reasons_have_no_chinese(example_runs: dict[str, Run]) -> None:
    for decision in decisions(example_runs).values():
        texts = [*decision["reasons"], *decision["conditions"]]
        texts += [line["reason"] for line in decision["score_breakdown"]]
        assert texts and all(isinstance(text, str) for text in texts)
        assert not [text for text in texts if CJK.search(text)]


def test_chinese_output_is_chinese() -> None:
    run = creditbook("evaluate", "--input", EXAMPLES[0], "--json", "--lang", "zh")
    assert run.returncode == 0
    assert all(CJK.search(reason) for reason in json.loads(run.stdout)["reasons"])


def test_plain_text_output_names_the_decision() -> None:
    run = creditbook("evaluate", "--input", EXAMPLES[0], "--lang", "en")
    assert run.returncode == 0 and run.stdout.strip()
    assert "Decision" in run.stdout and "Approved limit" in run.stdout


def test_input_files_are_left_byte_identical(example_runs: dict[str, Run]) -> None:
    assert {path.name: path.read_bytes() for path in EXAMPLES} == EXAMPLE_BYTES
    assert set(example_runs) == set(EXAMPLE_BYTES)


# ------------------------------------------------------------------ evaluate: bad input


def edited(name: str, edit: Callable[[dict[str, Any]], None]) -> str:
    data = example_data(name)
    edit(data)
    return json.dumps(data, ensure_ascii=False)


def set_profile(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["profile"].update(fields)


def drop_profile_field(field: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["profile"].pop(field)


def set_line(index: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["consumption"][index].update(fields)


def set_buffers(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["buffers"].update(fields)


PLAYBOOK_WITHOUT_OVERDUE = [
    {
        "trigger": "over_limit",
        "threshold": 1,
        "actions": ["pause_new_quota", "disable_high_cost_models", "request_emergency_approval"],
        "recovery": ["payment_received"],
    },
    {
        "trigger": "over_limit",
        "threshold": 1.5,
        "actions": ["suspend_service"],
        "recovery": ["payment_received"],
    },
    {
        "trigger": "abnormal_usage",
        "threshold": 3,
        "actions": ["rate_limit"],
        "recovery": ["usage_normalized"],
    },
]
SME = "sme_short_history.json"
BAD_INPUTS = {
    "invalid JSON": ('{\n  "profile": {,\n}', r"bad\.json:2:\d+$"),
    "missing field": (
        edited(SME, drop_profile_field("requested_limit")),
        r"^profile\.requested_limit$",
    ),
    "bad enum": (edited(SME, set_profile(entity_type="bank")), r"^profile\.entity_type$"),
    "bad credit code": (
        edited(SME, set_profile(credit_code="91330100MA27XF6T2A")),
        r"^profile\.credit_code$",
    ),
    "renewal before application": (
        edited(SME, set_profile(contract_renewal_date="2026-01-01")),
        r"^profile\.contract_renewal_date$",
    ),
    "guarantee amount without type": (
        edited(SME, set_profile(guarantee_amount=100000)),
        r"^profile\.guarantee_type$",
    ),
    "decreasing ramp": (
        edited(
            SME,
            set_buffers(ramp=[{"from_day": 0, "limit": 50000}, {"from_day": 30, "limit": 20000}]),
        ),
        r"^buffers\.ramp\[1\]\.limit$",
    ),
    "playbook missing a trigger": (
        edited(SME, lambda data: data.update(stop_loss=PLAYBOOK_WITHOUT_OVERDUE)),
        r"^stop_loss$",
    ),
    "unknown model without monthly_spend": (
        edited(SME, set_line(1, model="claude-imaginary")),
        r"^consumption\[1\]\.model$",
    ),
    "peak factor below 1": (
        edited(SME, set_line(0, peak_factor=0.5)),
        r"^consumption\[0\]\.peak_factor$",
    ),
}


@pytest.fixture
def write_input(tmp_path: Path) -> Callable[[str], Path]:
    def write(content: str) -> Path:
        path = tmp_path / "bad.json"
        path.write_text(content, "utf-8")
        return path

    return write


def json_issues(run: Run) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = json.loads(run.stdout)["issues"]
    assert issues
    for issue in issues:
        assert {"severity", "location", "message"} <= set(issue)
        assert issue["message"]
    return issues


@pytest.mark.parametrize("content, location", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_exits_2_naming_the_field(
    content: str, location: str, write_input: Callable[[str], Path]
) -> None:
    run = creditbook("evaluate", "--input", write_input(content), "--json", "--lang", "en")
    assert run.returncode == 2, run.stderr
    assert_no_traceback(run)
    issues = json_issues(run)
    errors = [issue["location"] for issue in issues if issue["severity"] == "error"]
    assert any(re.search(location, where) for where in errors), errors
    assert "decision" not in run.stdout


def test_non_object_input_exits_2(write_input: Callable[[str], Path]) -> None:
    run = creditbook("evaluate", "--input", write_input("[1, 2, 3]"), "--json", "--lang", "en")
    assert run.returncode == 2
    assert_no_traceback(run)
    assert [issue["message"] for issue in json_issues(run)] == [
        "the application must be a JSON object"
    ]


def test_missing_file_exits_2_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    run = creditbook("evaluate", "--input", missing, "--json", "--lang", "en")
    assert run.returncode == 2
    assert_no_traceback(run)
    assert [(issue["location"], issue["message"]) for issue in json_issues(run)] == [
        (str(missing), "file not found")
    ]


def test_bad_input_without_json_reports_on_stderr(write_input: Callable[[str], Path]) -> None:
    content, _ = BAD_INPUTS["peak factor below 1"]
    run = creditbook("evaluate", "--input", write_input(content), "--lang", "en")
    assert run.returncode == 2
    assert_no_traceback(run)
    assert run.stdout == ""
    assert "consumption[0].peak_factor" in run.stderr and "peak factor 0.5 is below 1" in run.stderr


def test_all_errors_are_reported_together(write_input: Callable[[str], Path]) -> None:
    def three_errors(data: dict[str, Any]) -> None:
        set_profile(contract_renewal_date="2026-01-01", guarantee_amount=5)(data)
        set_line(0, peak_factor=0.5)(data)

    run = creditbook("evaluate", "--input", write_input(edited(SME, three_errors)), "--json")
    assert run.returncode == 2
    errors = {issue["location"] for issue in json_issues(run) if issue["severity"] == "error"}
    assert errors == {
        "profile.contract_renewal_date",
        "profile.guarantee_type",
        "consumption[0].peak_factor",
    }


# ------------------------------------------------------------------ schema, policy, demo


def test_schema_lists_the_application_contract() -> None:
    run = creditbook("schema")
    assert run.returncode == 0
    schema = json.loads(run.stdout)
    assert {"profile", "consumption", "buffers", "stop_loss"} <= set(schema["properties"])
    assert set(schema["$defs"]["Profile"]["properties"]) >= PROFILE_FIELDS
    line_fields = {
        "provider",
        "model",
        "input_mtok_month",
        "output_mtok_month",
        "monthly_spend",
        "peak_factor",
        "scenario",
    }
    assert line_fields <= set(schema["$defs"]["ConsumptionLine"]["properties"])


def test_decision_schema_lists_the_decision_contract() -> None:
    run = creditbook("schema", "--decision")
    assert run.returncode == 0
    assert set(json.loads(run.stdout)["properties"]) >= DECISION_KEYS


def test_policy_check_passes_the_shipped_policy() -> None:
    run = creditbook("policy", "check", SHIPPED_POLICY)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^(\d+) passed, 0 failed$", run.stdout, re.MULTILINE)
    assert "FAIL" not in run.stdout


def write_policy(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load(SHIPPED_POLICY.read_text("utf-8"))
    edit(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def test_policy_check_rejects_a_broken_policy(tmp_path: Path) -> None:
    path = write_policy(tmp_path, lambda data: data["hard_rules"][0].update(max_tier="T9"))
    run = creditbook("policy", "check", path, "--lang", "en")
    assert run.returncode == 2
    assert_no_traceback(run)
    assert "unknown tier 'T9'" in run.stdout + run.stderr


def test_policy_check_fails_a_policy_whose_examples_disagree(tmp_path: Path) -> None:
    path = write_policy(tmp_path, lambda data: data["tiers"][1].update(limit_multiple=1.8))
    run = creditbook("policy", "check", path)
    assert run.returncode == 2
    assert_no_traceback(run)
    assert "FAIL" in run.stdout


def test_evaluate_uses_the_given_policy(tmp_path: Path) -> None:
    path = write_policy(tmp_path, lambda data: data["tiers"][0]["when"]["score"].update(gte=95))
    run = creditbook(
        "evaluate", "--input", EXAMPLES_BY_NAME["listed_company.json"], "--json", "--policy", path
    )
    assert run.returncode == 0
    decision = json.loads(run.stdout)
    assert decision["tier"] != "T1"
    assert decision["audit"]["policy_id"] == "creditbook-default"


def test_demo_writes_one_decision_per_example(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    run = creditbook("demo", "--out", out)
    assert run.returncode == 0, run.stderr
    assert_no_traceback(run)
    assert sorted(path.name for path in out.glob("*.json")) == [path.name for path in EXAMPLES]
    for path in out.glob("*.json"):
        assert set(json.loads(path.read_text("utf-8"))) >= DECISION_KEYS


def test_a_file_that_cannot_be_written_is_a_plain_error_not_a_traceback(tmp_path: Path) -> None:
    """`new` into a path under a file (not a folder): the system's refusal, named, exit 2."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    run = creditbook("new", "-o", blocker / "app.xlsm")
    assert run.returncode == 2
    assert_no_traceback(run)
    assert "cannot read or write" in run.stderr and "not-a-folder" in run.stderr


def test_piped_output_is_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """A Windows pipe defaults to GBK, which has no emoji: the decision still comes out whole."""
    data = example_data("listed_company.json")
    data["profile"]["customer_name"] = "笑脸 😀 Co."
    application = tmp_path / "emoji.json"
    application.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "creditbook", "evaluate", "--input", str(application), "--json"],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "gbk"},
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    assert json.loads(run.stdout.decode("utf-8"))["customer_name"] == "笑脸 😀 Co."


def test_evaluating_loads_no_dataframe_library_nor_openpyxl(tmp_path: Path) -> None:
    """pandas, pyarrow and numpy are for the portfolio commands, openpyxl for making workbooks,
    the process pool for several files, the portfolio code for its commands, urllib's network
    stack for nothing of ours; a single evaluation never waits for them (issue 12: 'creditbook
    evaluate one.xlsm' took 3×, then 2× an openpyxl load + save)."""
    workbook = Path(__file__).parents[2] / "workbook" / "examples" / "listed_company.xlsm"
    script = (
        "import sys\n"
        "from creditbook.cli import main\n"
        f"code = main(['evaluate', {str(workbook)!r}, '--out', {str(tmp_path)!r}])\n"
        "heavy = ('pandas', 'pyarrow', 'numpy', 'openpyxl', 'concurrent.futures.process',\n"
        "         'creditbook.portfolio.usage', 'creditbook.portfolio.sources', 'urllib.request')\n"
        "print('LOADED', [name for name in heavy if name in sys.modules], code)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, encoding="utf-8"
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "LOADED [] 0"
    assert (tmp_path / "listed_company.xlsm").exists()
