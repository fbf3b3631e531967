"""``gateway validate`` and ``gateway schemas``: the QA kit's commands (the work is in gateway/qa/)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from gateway.config import Settings


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--schema", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Validate bare payloads against this XSD instead of finding it by the root element.")
@click.option("--no-trust", is_flag=True, help="Check signatures but not the signer's certificate path.")
@click.option("--anchors", type=click.Path(exists=True, path_type=Path),
              help="Trust anchors (a PEM file or a folder of them); default: the data dir's trust/anchors.")
@click.option("--revocation", type=click.Choice(["hard-fail", "soft-fail", "off"]),
              help="Revocation checking of the certificate path; default GATEWAY_REVOCATION.")
@click.option("--require-signature", is_flag=True, help="An unsigned envelope is a problem, as at the gateway.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True,
              help="Report as text lines, JSON, or JUnit XML (for CI).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file (default: standard output).")
@click.option("--stats", is_flag=True, help="Print files per minute to standard error.")
def validate(paths, schema, no_trust, anchors, revocation, require_signature, fmt, output, stats) -> None:
    """Validate envelopes and business payloads PATHS (files, folders, - for stdin) as the gateway would.

    Exit code: 0 every document valid, 1 some invalid, 2 usage error."""
    from gateway.qa import report as reports
    from gateway.qa.engine import Validator
    from gateway.qa.trust import LazyVerifier

    checker = None if no_trust else LazyVerifier(Settings.from_env(), anchors, revocation)
    try:
        engine = Validator(verifier=checker, schema=schema, require_signature=require_signature)
    except Exception as exc:  # an XSD that does not load is the user's input
        raise click.UsageError(f"--schema {schema}: {exc}") from None
    started = time.perf_counter()
    try:
        found = [engine.validate(data, name) for name, data in reports.documents(paths)]
    except FileNotFoundError as exc:
        raise click.UsageError(f"no such file or folder: {exc}") from None
    elapsed = time.perf_counter() - started
    rendered = reports.render(found, fmt)
    if output:
        output.write_text(rendered, "utf-8")
    else:
        click.echo(rendered, nl=False)
    if stats:
        rate = len(found) / elapsed * 60 if elapsed > 0 else float("inf")
        click.echo(f"{len(found)} files in {elapsed:.2f} s: {rate:,.0f} files per minute", err=True)
    sys.exit(0 if all(r.valid for r in found) else 1)


@click.group()
def conformance() -> None:
    """Run the conformance corpus (conformance/ and your own folders) against a gateway."""


@conformance.command("run")
@click.option("--target", help="The SOAP endpoint of the gateway under test, e.g. http://127.0.0.1:8080/ws.")
@click.option("--offline", is_flag=True, help="No gateway: check every case through the validator instead.")
@click.option("--corpus", "folders", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder with manifest.json files (repeatable); default: the shipped conformance/.")
@click.option("--as", "mnemonic", default="ROMASHKA", show_default=True,
              help="The test participant whose key (data dir clients/MNEMONIC.key/.pem) signs the cases.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JUnit XML here (one testcase per case).")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON summary here (default: beside --junit, .json).")
@click.option("--only", help="Run only the cases whose id starts with this.")
@click.option("--revocation", type=click.Choice(["hard-fail", "soft-fail", "off"]),
              help="--offline: revocation checking of the certificate path; default GATEWAY_REVOCATION.")
def conformance_run(target, offline, folders, mnemonic, junit_path, summary_path, only, revocation) -> None:
    """Sign each case, send it, compare the outcome with the manifest, report.

    Exit code: 0 every case passed (or was skipped as offline only), 1 some failed, 2 usage error."""
    import json

    from gateway.ops.demo import load_client
    from gateway.qa import conformance as runner
    from gateway.qa.corpus import SHIPPED, ManifestError, load
    from gateway.qa.engine import Validator
    from gateway.qa.trust import LazyVerifier

    if bool(target) == offline:
        raise click.UsageError("give --target URL, or --offline")
    settings = Settings.from_env()
    try:
        cases = load(list(folders) or [SHIPPED])
    except ManifestError as exc:
        raise click.UsageError(str(exc)) from None
    if only:
        cases = [c for c in cases if c.id.startswith(only)]
    try:
        key, cert, chain = load_client(settings, mnemonic)
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"no key of {mnemonic} in {settings.data_dir}: {exc}") from None
    signer = runner.Signer(key, cert, tuple(chain))
    if offline:
        results = runner.run_offline(cases, Validator(verifier=LazyVerifier(settings, revocation=revocation),
                                                       require_signature=True), signer)
    else:
        results = runner.run_online(cases, target, signer)
    about = {"target": target or "offline", "signer": mnemonic, "corpus": [str(f) for f in folders or [SHIPPED]]}
    report = runner.summary(results, **about)
    if junit_path:
        junit_path.write_bytes(runner.junit(results, "conformance"))
        summary_path = summary_path or junit_path.with_suffix(".json")
    if summary_path:
        summary_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    for r in results:
        if r.status == "failed":
            click.echo(f"FAILED {r.case.id}: {r.message}")
    click.echo(f"{report['cases']} cases: {report['passed']} passed, {report['failed']} failed, "
               f"{report['skipped']} skipped")
    sys.exit(1 if report["failed"] else 0)


@click.group()
def schemas() -> None:
    """The contract's schemas (xsd/, wsdl/)."""


@schemas.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def schemas_export(directory: Path) -> None:
    """Copy every XSD and the WSDL into DIRECTORY with index.json (version, SHA-256)."""
    from gateway.qa.schemas import export

    for entry in export(directory):
        click.echo(f"{entry['sha256']}  {entry['file']}  {entry['version'] or '-'}")


@click.group()
def soapui() -> None:
    """SoapUI / ReadyAPI: the conformance corpus as a SoapUI project."""


@soapui.command("export")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--target", default="http://127.0.0.1:8080/ws", show_default=True,
              help="The SOAP endpoint the project's requests go to.")
@click.option("--wsdl", "wsdl_url", help="Where SoapUI loads the WSDL from (default: TARGET?wsdl).")
@click.option("--corpus", "folders", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder with manifest.json files (repeatable); default: the shipped conformance/.")
@click.option("--as", "mnemonic", default="ROMASHKA", show_default=True,
              help="The test participant whose key (data dir clients/MNEMONIC.key/.pem) signs the requests.")
def soapui_export(output, target, wsdl_url, folders, mnemonic) -> None:
    """Write a SoapUI project to OUTPUT: one test suite per corpus folder, one test case per
    message-level case, its requests signed now (send them within GATEWAY_MESSAGE_ID_MAX_AGE_SECONDS)."""
    from gateway.ops.demo import load_client
    from gateway.qa import soapui as exporter
    from gateway.qa.conformance import Signer
    from gateway.qa.corpus import SHIPPED, ManifestError, load

    settings = Settings.from_env()
    try:
        cases = load(list(folders) or [SHIPPED])
    except ManifestError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        key, cert, chain = load_client(settings, mnemonic)
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"no key of {mnemonic} in {settings.data_dir}: {exc}") from None
    data = exporter.project(cases, target, Signer(key, cert, tuple(chain)), wsdl_url=wsdl_url)
    output.write_bytes(data)
    root = _counts(data)
    click.echo(f"{output}: {root['suites']} test suites, {root['cases']} test cases "
               f"({root['disabled']} disabled), {root['steps']} request steps")


def _counts(data: bytes) -> dict[str, int]:
    from lxml import etree

    root = etree.fromstring(data)
    con = "{http://eviware.com/soapui/config}"
    cases = root.findall(f"{con}testSuite/{con}testCase")
    return {"suites": len(root.findall(f"{con}testSuite")), "cases": len(cases),
            "disabled": sum(c.get("disabled") == "true" for c in cases),
            "steps": len(root.findall(f"{con}testSuite/{con}testCase/{con}testStep"))}
