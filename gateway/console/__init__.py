"""The operator and QA web console at /console (docs/console.md): server-rendered pages over
what the gateway already stores; mounted by gateway/http/app.py."""
