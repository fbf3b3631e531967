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
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file (default: standard output).")
@click.option("--stats", is_flag=True, help="Print files per minute to standard error.")
def validate(paths, schema, no_trust, anchors, revocation, require_signature, fmt, output, stats) -> None:
    """Validate envelopes and business payloads (files, folders, - for stdin) as the gateway would.

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
