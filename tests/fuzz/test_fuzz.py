"""Fuzzing parse → verify → route (tests/fuzz/harness.py) and the REST API (test_rest_api.py).

In ``make test`` a short, fixed-seed budget (FUZZ_INPUTS, 500 inputs); ``make fuzz`` sets
FUZZ_SECONDS for a long, time-bounded run (FUZZ_SEED picks the mutations; default fixed). Every
input saved in tests/fuzz/regressions/ (each once gave INTERNAL_ERROR or a 5xx without a SOAP
fault) is replayed first, on every run.
"""
from __future__ import annotations

import os

from fuzz.harness import DEFAULT_SEED, REGRESSIONS, Outcome, fuzz, post, replay


def test_mutated_envelopes_of_every_operation_never_give_internal_errors(app, make_corpus):
    corpus = make_corpus()
    # the unmutated seeds pass parse, XSD, signature and trust: the mutations start from valid
    # input (the Ack's target is only delivered once GetResponse reaches it in the queue)
    refused = [(i, o.status, o.body[-400:]) for i, body in enumerate(corpus)
               if (o := post(app, body)).status != 200
               and b"TargetMessageIsNotFound" not in o.body]
    assert not refused, refused
    # then the saved inputs of every crash found so far (each a regression test of its fix)
    saved = sorted(REGRESSIONS.glob("*.xml"))
    broken = [(path.name, why) for path in saved
              if (why := replay(app, path, make_corpus.session).crash)]
    assert not broken, broken

    seconds = float(os.environ.get("FUZZ_SECONDS", "0")) or None
    inputs = None if seconds else int(os.environ.get("FUZZ_INPUTS", "500"))
    seed = int(os.environ.get("FUZZ_SEED", str(DEFAULT_SEED)))
    report = fuzz(app, corpus, seed=seed, inputs=inputs, seconds=seconds, refresh=make_corpus,
                  resign=make_corpus.session.resign)
    print(f"\nfuzz: seed {seed}, {report.inputs} inputs in {report.seconds:.1f} s, "
          f"statuses {dict(sorted(report.statuses.items()))}, {len(report.crashes)} crashes")
    assert report.inputs >= (inputs or 1)
    assert not report.crashes, [(path.name, why) for path, why in report.crashes]


def test_the_oracle_tells_internal_errors_from_faults():
    """What the harness counts as a crash: INTERNAL_ERROR (what gateway/faults.py renders for an
    unexpected exception) and a 5xx that is no SOAP fault; never a client fault."""
    from gateway import faults
    from gateway.faults import MalformedRequest

    assert Outcome(*faults.render(RuntimeError("boom"))).crash == "INTERNAL_ERROR (500)"
    assert Outcome(*faults.render(RuntimeError(), faults.SOAP12)).crash.startswith("INTERNAL_ERROR")
    assert Outcome(*faults.render(MalformedRequest("bad", code="MALFORMED_XML"))).crash is None
    assert Outcome(502, "text/html", b"<html>Bad Gateway</html>").crash == \
        "HTTP 502 without a SOAP fault"
    assert Outcome(503, "application/json", b'{"error": "x"}').crash is not None
