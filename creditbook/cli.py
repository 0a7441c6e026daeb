"""`creditbook` command line. Exit codes: 0 evaluated, 2 input errors, 1 unexpected failure."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from creditbook.core.assess import assess, parse_and_validate
from creditbook.core.labels import LABELS
from creditbook.core.models import Application, Currency, Decision
from creditbook.core.plain_text import columns, render_decision, render_issues
from creditbook.core.policy import Policy
from creditbook.core.policy_check import run_examples
from creditbook.core.records import Issue, Lang, error
from creditbook.data import default_policy, example_applications, example_workbooks
from creditbook.portfolio.choices import ENGINES, FORMATS, QUOTA_PER_USD
from creditbook.workbook.batch import (
    FileResult,
    Job,
    run_jobs,
    terminal_progress,
)
from creditbook.workbook.evaluate import export_application
from creditbook.workbook.file_io import (
    InputError,
    read_application_json,
    read_policy,
    read_prices,
    write_atomic,
)
from creditbook.workbook.session import evaluator, officials

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


def _documents_language(args: argparse.Namespace) -> Lang | None:
    """The --lang given for the documents (None: the workbook's own); the console then uses
    that language too, or both."""
    given: Lang | None = args.lang
    args.lang = given or "both"
    return given


def cmd_evaluate(args: argparse.Namespace) -> int:
    documents = _documents_language(args)
    if args.input is not None:
        return _evaluate_json(args)
    if not args.files:
        print("evaluate needs --input APP.json or workbook files", file=sys.stderr)
        return EXIT_INPUT
    evaluated_at, user = _now(), evaluator(args.evaluator)
    jobs = [
        Job(
            source=path,
            target=path
            if args.in_place
            else (args.out or path.parent) / _evaluated_name(path, args.out),
            policy_files=tuple(args.policy_files),
            evaluated_by=user,
            evaluated_at=evaluated_at,
            pdf=args.pdf,
            debug=args.debug,
            lang=documents,
        )
        for path in args.files
    ]
    clashes = _clashes(jobs, args.in_place)
    if clashes:
        for target, sources in clashes.items():
            listed = ", ".join(str(source) for source in sources)
            print(
                f"{target}: 多个输入会写到同一个文件，或会覆盖输入（需 --in-place）/ several "
                f"inputs would write this file, or it would overwrite an input (that needs "
                f"--in-place): {listed}",
                file=sys.stderr,
            )
        return EXIT_INPUT
    results = run_jobs(jobs, args.jobs, terminal_progress)
    return _report(results, args)


def _clashes(jobs: Sequence[Job], in_place: bool) -> dict[Path, list[Path]]:
    """Outputs that more than one input would write, or that would overwrite an input without
    --in-place: refused before anything is written."""
    by_target: dict[Path, list[Path]] = {}
    for job in jobs:
        by_target.setdefault(job.target.resolve(), []).append(job.source)
    sources = {job.source.resolve() for job in jobs}
    return {
        target: inputs
        for target, inputs in by_target.items()
        if len(inputs) > 1 or (target in sources and not in_place)
    }


def _evaluated_name(path: Path, out: Path | None) -> str:
    """Into --out the file keeps its name; beside the input it gets an `.evaluated` suffix."""
    return path.name if out else f"{path.stem}.evaluated{path.suffix}"


def _report(results: list[FileResult], args: argparse.Namespace) -> int:
    if args.json:
        payload = [
            {"file": str(r.source), "output": str(r.target) if r.target else None}
            | (
                {"decision": json.loads(_decision_json(r.decision, args.lang))}
                if r.decision
                else {}
            )
            | {"issues": [i.model_dump(mode="json", context={"lang": args.lang}) for i in r.issues]}
            for r in results
        ]
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        rows = [("file", "decision", "tier", "approved / requested", "output")]
        for result in results:
            if result.decision is None:
                print(
                    f"{result.source}:\n{render_issues(result.issues, args.lang)}", file=sys.stderr
                )
                continue
            rows.append(
                (
                    result.source.name,
                    *_summary(result.decision, args.lang),
                    str(result.pdf or result.target),
                )
            )
        if len(rows) > 1:
            print(columns(rows))
    if args.pdf and shutil.which("soffice") is None:
        print("--pdf: LibreOffice (soffice) is not installed; no PDF written", file=sys.stderr)
    return _exit_code(results)


def _exit_code(results: Sequence[FileResult]) -> int:
    """1 when a file met a bug, else 2 when a file could not be evaluated or written, else 0."""
    if any(result.failed_unexpectedly for result in results):
        return EXIT_FAILURE
    return EXIT_INPUT if any(result.decision is None for result in results) else EXIT_OK


def _summary(decision: Decision, lang: Lang) -> tuple[str, str, str]:
    cur = decision.currency.value
    return (
        LABELS[decision.decision].render(lang),
        decision.tier,
        f"{decision.approved_limit:,.0f} / {decision.requested_limit:,.0f} {cur}",
    )


def _evaluate_json(args: argparse.Namespace) -> int:
    raw = read_application_json(args.input)
    policy = read_policy(args.policy_files[0]) if args.policy_files else default_policy()
    result = assess(raw, policy, read_prices(args.prices), evaluated_at=_now())
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
    """Evaluate the bundled example workbooks (made from examples/applications) into --out."""
    documents = _documents_language(args)
    evaluated_at, user = _now(), evaluator()
    with tempfile.TemporaryDirectory() as scratch:
        jobs = []
        for name, data in example_workbooks():
            source = Path(scratch) / name
            source.write_bytes(data)
            jobs.append(
                Job(
                    source,
                    args.out / name,
                    (),
                    user,
                    evaluated_at,
                    args.pdf,
                    debug=args.debug,
                    lang=documents,
                )
            )
        results = run_jobs(jobs, args.jobs, terminal_progress)
    rows = [("file", "customer", "decision", "tier", "approved / requested")]
    for result in results:
        if result.decision is None:
            print(
                f"{result.source.name}:\n{render_issues(result.issues, args.lang)}", file=sys.stderr
            )
            return _exit_code(results)
        decision = result.decision
        write_atomic(
            args.out / f"{result.source.stem}.json", _decision_json(decision, args.lang).encode()
        )
        rows.append((result.source.name, decision.customer_name, *_summary(decision, args.lang)))
    print(columns(rows))
    print(f"\n{len(results)} approvals written to {args.out}/ (workbook + decision JSON each)")
    return EXIT_OK


def cmd_build_workbook(args: argparse.Namespace) -> int:
    from creditbook.workbook.new import new_workbook  # openpyxl loads only for the commands
    from creditbook.workbook.xlsm.build import build_workbook, reproducible  # that make workbooks

    policy, prices = default_policy(), read_prices(None)
    write_atomic(args.out, build_workbook(policy, prices))
    print(f"built {args.out}")
    for name, raw in example_applications():
        app, issues = parse_and_validate(raw, policy, prices)
        if app is None:
            print(f"{name}:\n{render_issues(issues, 'both')}", file=sys.stderr)
            return EXIT_FAILURE
        target = args.out.parent / "examples" / f"{Path(name).stem}.xlsm"
        write_atomic(
            target, reproducible(new_workbook(app, template=args.out.read_bytes()), policy)
        )
        print(f"built {target}")
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    from creditbook.workbook.new import new_workbook  # openpyxl loads only to make a workbook

    app = None
    if args.input:
        app, issues = parse_and_validate(
            read_application_json(args.input), default_policy(), read_prices(None)
        )
        if app is None:
            _print_issues(issues, args.lang, False)
            return EXIT_INPUT
    write_atomic(args.out, new_workbook(app, lang=args.lang))
    print(f"created {args.out}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    app, issues = export_application(args.file)
    if app is None:
        _print_issues(issues, args.lang, args.json)
        return EXIT_INPUT
    print(json.dumps(app.model_dump(mode="json"), ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    """Each check on a line (✓ fine, ✗ to fix, – does not apply); exit 1 when any is to fix."""
    from creditbook.workbook.doctor import diagnose  # it loads the workbook with openpyxl

    checks = diagnose(args.workbook)
    marks = {True: "✓", False: "✗", None: "–"}
    print(
        columns(
            [(marks[c.ok], c.name.render(args.lang), c.detail.render(args.lang)) for c in checks]
        )
    )
    return EXIT_FAILURE if any(c.ok is False for c in checks) else EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Evaluated workbooks against their audit snapshot: 0 only when all are unchanged and official."""
    from creditbook.workbook.verify import as_json, render, verify_file  # evaluate needs none

    policies = officials(args.policy_files)
    results = [verify_file(path, policies) for path in args.files]
    if args.json:
        print(json.dumps([as_json(r, args.lang) for r in results], ensure_ascii=False, indent=2))
    else:
        print("\n".join(render(result, args.lang) for result in results))
    return EXIT_OK if all(result.ok for result in results) else EXIT_INPUT


def cmd_annex(args: argparse.Namespace) -> int:
    """The contract annex of an evaluated workbook, as approved, to .pdf or .docx."""
    from creditbook.workbook.annex_file import write_annex_file  # its documents: annex only

    if not write_annex_file(args.file, args.out, args.lang, officials(args.policy_files)):
        print(
            f"{args.out}: LibreOffice (soffice) 未安装，无法生成 PDF；可改为 .docx / "
            "LibreOffice (soffice) is not installed, so no PDF can be made; write a .docx instead",
            file=sys.stderr,
        )
        return EXIT_INPUT
    print(f"written {args.out}")
    return EXIT_OK


def cmd_register(args: argparse.Namespace) -> int:
    """One row per evaluated workbook under the folders, with totals against the appetite."""
    # pandas loads only for the portfolio commands
    import pandas as pd

    from creditbook.portfolio import register
    from creditbook.portfolio.tables import is_table

    tables = [path for path in args.folders if is_table(path)]
    folders = [path for path in args.folders if path not in tables]
    empty = [folder for folder in folders if not register.find_workbooks([folder])]
    for folder in empty:
        print(f"{folder}: 没有找到工作簿 / no workbooks (*.xlsm, *.xlsx) found", file=sys.stderr)
    if empty:
        return EXIT_INPUT
    policies, as_of = officials(args.policy_files), args.as_of or date.today()
    prices = read_prices(args.prices)
    book = register.build_register(
        register.find_workbooks(folders),
        policies,
        prices,
        as_of,
        verify=not args.no_verify,
        jobs=args.jobs,
    )
    if tables:
        rows, skipped = register.table_register(tables, policies[0], prices, as_of, jobs=args.jobs)
        for where, why in skipped:
            print(f"skipped {where}: {why.splitlines()[0] if why else ''}", file=sys.stderr)
        book = pd.concat([book, rows], ignore_index=True) if len(book) else rows
    totals = register.totals_of(book, policies[0])
    register.write_register(book, totals, as_of, args.out)
    print(columns(register.totals_rows(totals)))
    print(f"\nregister of {len(book)} rows written to {args.out}")
    return EXIT_OK


def cmd_monitor(args: argparse.Namespace) -> int:
    """Usage and receivables against the register: exit 3 when any customer needs an action."""
    import time

    from creditbook.portfolio import monitor, monitor_report, register, sources, usage

    policy, prices = officials(args.policy_files)[0], read_prices(args.prices)
    policy = _with_fx(policy, args.fx)
    customers = monitor.customers_of(register.read_register(args.register))
    as_of = args.as_of or date.today()
    given, where = (
        (args.utc_offset, "--utc-offset")
        if args.utc_offset
        else (policy.monitoring.utc_offset, "monitoring.utc_offset")
    )
    offset = usage.utc_offset(given, as_of, where)
    options = usage.Options(
        format=args.usage_format,
        table=args.usage_table,
        key_field=args.customer_field,
        quota_per_unit=args.quota_per_unit,
        currency=args.usage_currency,
        provider=args.provider,
        engine=args.engine,
        utc_offset=offset,
    )
    started = time.perf_counter()
    reading, invoices = monitor.read_book(
        sources.source_of(args.usage),
        args.receivables,
        customers,
        policy,
        prices,
        as_of,
        options,
        mapping=args.customers,
        receivables_table=args.receivables_table,
    )
    print(
        f"用量 usage: {reading.rows:,} rows 行, {reading.format} ({reading.key_field}) "
        f"from {reading.source}, {reading.engine}, {time.perf_counter() - started:.1f} s, "
        f"日界 days start at UTC{monitor.offset_text(reading.utc_offset)}",
        file=sys.stderr,
    )
    results = monitor.monitor(customers, reading.spend, invoices, policy, as_of)
    if args.out:
        monitor_report.write_monitor(
            results, as_of, args.out, args.lang, reading.unmapped, reading.utc_offset
        )
    if args.actions:
        monitor_report.write_actions(results, args.actions, args.lang)
    if args.json:
        print(monitor.monitor_json(results, as_of, reading.unmapped, reading.utc_offset))
    else:
        print(columns(monitor_report.terminal_rows(results, args.lang)))
    if reading.unmapped:
        print(
            "\n未对应到客户的用量 / usage that matches no customer (add it to --customers):",
            file=sys.stderr,
        )
        print(columns(monitor_report.unmapped_rows(reading.unmapped)), file=sys.stderr)
    return monitor.EXIT_ACTION if any(h.action_needed for h in results) else EXIT_OK


def _with_fx(policy: Policy, rates: Sequence[str]) -> Policy:
    """The policy with `--fx USD=7.2` rates in place of its own."""
    if not rates:
        return policy
    table = dict(policy.fx.rates)
    for given in rates:
        code, _, value = given.partition("=")
        try:
            table[Currency(code.strip().upper())] = Decimal(value)
        except (ValueError, InvalidOperation):
            raise InputError(
                [
                    error(
                        ("--fx",),
                        f"汇率写法应为 USD=7.10：{given!r}",
                        f"write a rate as USD=7.10: {given!r}",
                    )
                ]
            ) from None
    return policy.model_copy(update={"fx": policy.fx.model_copy(update={"rates": table})})


def cmd_simulate(args: argparse.Namespace) -> int:
    """Every application under the folders under the current policy and a draft: print the summary
    (and the changed rows), write the diff."""
    # pandas and numpy load only for this command
    from creditbook.portfolio.columns import Unsupported
    from creditbook.portfolio.register import csv_bytes
    from creditbook.portfolio.simulate import json_value, read_draft, simulate, write_xlsx

    current = read_draft(args.baseline) if args.baseline else default_policy()
    try:
        facts, table, portfolio = simulate(args.folders, read_draft(args.draft), current)
    except Unsupported as exc:
        raise InputError(
            [error(("simulate",), f"无法精确模拟：{exc}", f"cannot simulate exactly: {exc}")]
        ) from None
    if args.out:
        if args.out.suffix.lower() == ".csv":
            write_atomic(args.out, csv_bytes(table))
        else:
            write_xlsx(args.out, table, {k: json_value(v) for k, v in facts.items()})
    for path, why in portfolio.skipped:
        print(f"skipped {path}: {why.splitlines()[0] if why else ''}", file=sys.stderr)
    if args.json:
        rows = [{k: json_value(v) for k, v in row.items()} for row in table.to_dict("records")]
        payload = {"summary": {k: json_value(v) for k, v in facts.items()}, "rows": rows}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print("\n".join(f"{key}: {value}" for key, value in facts.items()))
    changed = table[table["changed"]]
    if len(changed):
        header = ("customer", "tier", "decision", "approved_limit", "unsecured_exposure")
        lines = [header] + [
            (
                str(row["customer"]),
                f"{row['tier_before']} → {row['tier_after']}",
                f"{row['decision_before']} → {row['decision_after']}",
                f"{row['approved_limit_before']:,.2f} → {row['approved_limit_after']:,.2f}",
                f"{row['unsecured_exposure_before']:,.2f} → {row['unsecured_exposure_after']:,.2f}",
            )
            for _, row in changed.iterrows()
        ]
        print(columns(lines))
    if args.out:
        print(f"written {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="creditbook", description="授信审批 Credit-line approval")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks of unexpected failures"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser, *, documents: bool = False) -> None:
        if documents:
            sub.add_argument(
                "--lang",
                choices=("zh", "en", "both"),
                default=None,
                help="language of the Approval sheet, its PDF and the output: zh, en or both "
                "(default: both, unless the workbook remembers a language)",
            )
        else:
            sub.add_argument("--lang", choices=("zh", "en", "both"), default="both")
        sub.add_argument("--prices", type=Path, help="price table CSV (default: the shipped table)")

    def official_policies(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--policy",
            dest="policy_files",
            type=Path,
            action="append",
            default=[],
            help="official policy YAML (default: the shipped policy; repeat for several versions; "
            "the first sets the base currency)",
        )

    evaluate = commands.add_parser("evaluate", help="evaluate workbooks, or an application JSON")
    evaluate.add_argument("files", nargs="*", type=Path, help="filled CreditReview workbooks")
    evaluate.add_argument("--input", type=Path, help="an application JSON instead of workbooks")
    evaluate.add_argument("--json", action="store_true", help="print the Decision JSON")
    official_policies(evaluate)
    where = evaluate.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="write evaluated workbooks into this folder")
    where.add_argument(
        "--in-place", action="store_true", help="update the input workbooks themselves"
    )
    evaluate.add_argument(
        "--pdf",
        action="store_true",
        help="also render the Approval sheet and the contract annex (NAME.pdf, NAME.annex.pdf)",
    )
    evaluate.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="processes for many files"
    )
    evaluate.add_argument(
        "--evaluator",
        help="the name of the person evaluating, for the Approval sheet and AuditLog "
        "(default: $CREDITBOOK_EVALUATOR)",
    )
    common(evaluate, documents=True)
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
    common(new)  # --lang: the input sheets' language, which the workbook remembers
    new.set_defaults(run=cmd_new)

    export = commands.add_parser("export", help="read a filled workbook back into application JSON")
    export.add_argument("file", type=Path)
    export.add_argument("--json", action="store_true", help="JSON output (the default)")
    common(export)
    export.set_defaults(run=cmd_export)

    demo = commands.add_parser("demo", help="evaluate the bundled example workbooks")
    demo.add_argument("--out", type=Path, default=Path("creditbook-demo"))
    demo.add_argument(
        "--pdf", action="store_true", help="also render each approval and annex to PDF"
    )
    demo.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    common(demo, documents=True)
    demo.set_defaults(run=cmd_demo)

    verify = commands.add_parser("verify", help="check evaluated workbooks against their audit")
    verify.add_argument("files", nargs="+", type=Path, help="evaluated CreditReview workbooks")
    official_policies(verify)
    verify.add_argument("--json", action="store_true", help="JSON output")
    verify.add_argument("--lang", choices=("zh", "en", "both"), default="both")
    verify.set_defaults(run=cmd_verify)

    doctor = commands.add_parser(
        "doctor", help="check what the Evaluate button needs on this PC (and for a workbook)"
    )
    doctor.add_argument("workbook", nargs="?", type=Path, help="a CreditReview workbook")
    doctor.add_argument("--lang", choices=("zh", "en", "both"), default="both")
    doctor.set_defaults(run=cmd_doctor)
    annex = commands.add_parser(
        "annex", help="print the contract annex of an evaluated workbook (.pdf or .docx)"
    )
    annex.add_argument("file", type=Path, help="an evaluated CreditReview workbook")
    annex.add_argument("-o", "--out", type=Path, required=True, help="annex.pdf or annex.docx")
    official_policies(annex)
    annex.add_argument("--lang", choices=("zh", "en", "both"), default="both")
    annex.set_defaults(run=cmd_annex)

    register = commands.add_parser("register", help="a register of evaluated workbooks in folders")
    register.add_argument(
        "folders",
        nargs="+",
        type=Path,
        help="folders searched recursively for workbooks, or application tables (.parquet, .csv)",
    )
    register.add_argument("-o", "--out", type=Path, required=True, help=".xlsx, .csv or .parquet")
    official_policies(register)
    register.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD (default: today)")
    register.add_argument("--no-verify", action="store_true", help="skip the verify check")
    register.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    register.add_argument("--prices", type=Path, help="price table CSV (default: the shipped)")
    register.set_defaults(run=cmd_register)

    monitor = commands.add_parser("monitor", help="usage and receivables against the register")
    monitor.add_argument("--register", type=Path, required=True, help="from creditbook register")
    monitor.add_argument(
        "--usage",
        help="usage: CSV/Parquet/JSON file, folder or glob, or a database URL (sqlite:///…, "
        "postgresql://…, mysql://…; default: $CREDITBOOK_USAGE_URL)",
    )
    monitor.add_argument("--usage-format", choices=FORMATS, help="default: detected")
    monitor.add_argument("--usage-table", help="database table (default: the format's)")
    monitor.add_argument(
        "--customer-field",
        "--customer-column",
        dest="customer_field",
        help="the usage field naming the customer (new-api: username; litellm: team_id; …)",
    )
    monitor.add_argument("--customers", type=Path, help="map CSV: key,credit_code")
    monitor.add_argument(
        "--quota-per-unit",
        type=int,
        help="gateway quota units per currency unit (default: the gateway's QuotaPerUnit "
        f"option, else {QUOTA_PER_USD:,})",
    )
    monitor.add_argument(
        "--usage-currency",
        type=Currency,
        choices=list(Currency),
        help="currency of the usage amounts (default: USD for gateways and provider reports, "
        "the customer's for generic files)",
    )
    monitor.add_argument(
        "--fx", action="append", default=[], help="rate to the base currency, e.g. USD=7.10"
    )
    monitor.add_argument(
        "--engine",
        choices=ENGINES,
        default="duckdb",
        help="engine for files (spark: the master in $CREDITBOOK_SPARK_MASTER, default local)",
    )
    monitor.add_argument(
        "--receivables", required=True, help="receivables: CSV, Parquet or a database URL"
    )
    monitor.add_argument("--receivables-table", help="database table (default: receivables)")
    monitor.add_argument("--as-of", type=date.fromisoformat, help="YYYY-MM-DD (default: today)")
    monitor.add_argument("-o", "--out", type=Path, help="write .xlsx or .json")
    monitor.add_argument("--json", action="store_true", help="print JSON")
    monitor.add_argument(
        "--actions",
        type=Path,
        help="write a CSV of the playbook actions reached, one row per action, for the gateway",
    )
    monitor.add_argument("--provider", help="provider of usage rows without a provider column")
    monitor.add_argument(
        "--utc-offset",
        help="where the day starts: +08:00, -05:30 or a time zone such as Asia/Shanghai "
        "(default: the policy's monitoring.utc_offset, +00:00 as shipped)",
    )
    official_policies(monitor)
    common(monitor)
    monitor.set_defaults(run=cmd_monitor)

    simulate = commands.add_parser("simulate", help="re-evaluate a portfolio under a draft policy")
    simulate.add_argument(
        "folders",
        nargs="+",
        type=Path,
        help="folders searched recursively, or application tables (.parquet, .csv)",
    )
    simulate.add_argument(
        "--policy", dest="draft", type=Path, required=True, help="draft: YAML, TOML or a workbook"
    )
    simulate.add_argument("--baseline", type=Path, help="current policy (default: the shipped)")
    simulate.add_argument("-o", "--out", type=Path, help="write the diff as .xlsx or .csv")
    simulate.add_argument("--json", action="store_true", help="print the summary and rows as JSON")
    simulate.set_defaults(run=cmd_simulate)
    return parser


def _utf8_when_piped() -> None:
    """Output into a pipe or file is UTF-8 whatever the locale: a Windows pipe defaults to GBK or
    cp1252, which cannot encode every customer name. A console keeps its own encoding."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and not stream.isatty():
            stream.reconfigure(encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    _utf8_when_piped()
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # output piped into `head`
        return EXIT_OK
    except InputError as exc:
        lang: Lang = getattr(args, "lang", None) or "both"
        _print_issues(exc.issues, lang, getattr(args, "json", False))
        return EXIT_INPUT
    except OSError as exc:  # the machine refused a read or write: a full disk, a read-only folder
        if args.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{where}无法读写 / cannot read or write: {exc.strerror or exc}", file=sys.stderr)
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
