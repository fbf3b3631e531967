"""The QA conformance kit: the offline validator (``gateway validate``, ``POST /api/v1/validate``),
the conformance corpus runner (``gateway conformance run``) and the schema listing. docs/qa.md."""
