"""`creditbook` command line. Exit codes: 0 evaluated, 2 input errors, 1 unexpected failure."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from creditbook.assess import assess, parse_and_validate
from creditbook.files import (
    InputError,
    example_applications,
    read_application_json,
    read_policy,
    read_prices,
    write_atomic,
)
from creditbook.labels import LABELS
from creditbook.models import Application, Decision
from creditbook.policy import Policy, default_policy
from creditbook.policy_check import run_examples
from creditbook.records import Issue, Lang
from creditbook.report import columns, render_decision, render_issues
from creditbook.workbooks import export_application, new_workbook
from creditbook.xlsm.build import build_workbook

EXIT_OK, EXIT_FAILURE, EXIT_INPUT = 0, 1, 2


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _decision_json(decision: Decision, lang: Lang) -> str:
    return decision.model_dump_json(indent=2, context={"lang": lang})


def _print_issues(issues: Sequence[Issue], lang: Lang, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {"issues": [i.model_dump(mode="json", context={"lang": lang}) for i in issues]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(render_issues(issues, lang), file=sys.stderr)


def _policy(args: argparse.Namespace) -> Policy:
    return read_policy(args.policy) if args.policy else default_policy()


def cmd_evaluate(args: argparse.Namespace) -> int:
    raw = read_application_json(args.input)
    result = assess(raw, _policy(args), read_prices(args.prices), evaluated_at=_now())
    if result.decision is None:
        _print_issues(result.issues, args.lang, args.json)
        return EXIT_INPUT
    if args.json:
        print(_decision_json(result.decision, args.lang))
    else:
        print(render_decision(result.decision, args.lang))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    model = Decision if args.decision else Application
    print(
        json.dumps(
            model.model_json_schema(mode="serialization" if args.decision else "validation"),
            ensure_ascii=False,
            indent=2,
        )
    )
    return EXIT_OK


def cmd_policy_check(args: argparse.Namespace) -> int:
    policy = read_policy(args.file)
    print(f"{policy.id} {policy.version} ({policy.as_of}) sha256 {policy.content_hash()}")
    results = run_examples(policy, read_prices(args.prices))
    for result in results:
        mark = "ok  " if result.passed else "FAIL"
        print(f"  {mark} {result.name}: {result.summary}")
    failed = sum(not result.passed for result in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return EXIT_OK if results and not failed else EXIT_INPUT


def cmd_demo(args: argparse.Namespace) -> int:
    policy, prices = default_policy(), read_prices(None)
    out: Path = args.out
    evaluated_at = _now()
    rows = []
    for name, raw in example_applications():
        result = assess(raw, policy, prices, evaluated_at=evaluated_at)
        if result.decision is None:
            print(f"{name}:\n{render_issues(result.issues, args.lang)}", file=sys.stderr)
            return EXIT_FAILURE
        decision = result.decision
        write_atomic(out / name, _decision_json(decision, args.lang).encode())
        cur = decision.currency.value
        rows.append(
            (
                name,
                decision.customer_name,
                LABELS[decision.decision].render(args.lang),
                decision.tier,
                f"{decision.approved_limit:,.0f} / {decision.requested_limit:,.0f} {cur}",
            )
        )
    print(columns([("file", "customer", "decision", "tier", "approved / requested"), *rows]))
    print(f"\n{len(rows)} decisions written to {out}/")
    return EXIT_OK


def cmd_build_workbook(args: argparse.Namespace) -> int:
    write_atomic(args.out, build_workbook(default_policy(), read_prices(None)))
    print(f"built {args.out}")
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    app = None
    if args.input:
        app, issues = parse_and_validate(
            read_application_json(args.input), default_policy(), read_prices(None)
        )
        if app is None:
            _print_issues(issues, args.lang, False)
            return EXIT_INPUT
    write_atomic(args.out, new_workbook(app))
    print(f"created {args.out}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    app, issues = export_application(args.file)
    if app is None:
        _print_issues(issues, args.lang, args.json)
        return EXIT_INPUT
    print(json.dumps(app.model_dump(mode="json"), ensure_ascii=False, indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="creditbook", description="授信审批 Credit-line approval")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks of unexpected failures"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--lang", choices=("zh", "en", "both"), default="both")
        sub.add_argument("--prices", type=Path, help="price table CSV (default: the shipped table)")

    evaluate = commands.add_parser("evaluate", help="evaluate an application JSON")
    evaluate.add_argument("--input", type=Path, required=True)
    evaluate.add_argument("--json", action="store_true", help="print the Decision JSON")
    evaluate.add_argument("--policy", type=Path, help="policy YAML (default: the shipped policy)")
    common(evaluate)
    evaluate.set_defaults(run=cmd_evaluate)

    schema = commands.add_parser("schema", help="print the application JSON Schema")
    schema.add_argument("--decision", action="store_true", help="print the Decision schema instead")
    schema.set_defaults(run=cmd_schema)

    policy = commands.add_parser("policy", help="policy tools").add_subparsers(
        dest="action", required=True
    )
    check = policy.add_parser("check", help="validate a policy file and run its worked examples")
    check.add_argument("file", type=Path)
    common(check)
    check.set_defaults(run=cmd_policy_check)

    build = commands.add_parser("build-workbook", help="build CreditReview.xlsm from its sources")
    build.add_argument("--out", type=Path, default=Path("workbook/CreditReview.xlsm"))
    build.set_defaults(run=cmd_build_workbook)

    new = commands.add_parser(
        "new", help="create an application workbook, optionally filled from JSON"
    )
    new.add_argument("--input", type=Path, help="application JSON to fill in")
    new.add_argument("-o", "--out", type=Path, required=True)
    common(new)
    new.set_defaults(run=cmd_new)

    export = commands.add_parser("export", help="read a filled workbook back into application JSON")
    export.add_argument("file", type=Path)
    export.add_argument("--json", action="store_true", help="JSON output (the default)")
    common(export)
    export.set_defaults(run=cmd_export)

    demo = commands.add_parser("demo", help="evaluate the bundled examples")
    demo.add_argument("--out", type=Path, default=Path("creditbook-demo"))
    common(demo)
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except InputError as exc:
        _print_issues(exc.issues, getattr(args, "lang", "both"), getattr(args, "json", False))
        return EXIT_INPUT
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"unexpected failure 意外错误: {type(exc).__name__}: {exc} (rerun with --debug)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return code
