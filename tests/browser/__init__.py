"""A package, so that the browser and the gateway of its package-scoped fixtures close after the
last browser test: Playwright's sync API keeps an event loop running in the main thread while
open, and a later test's ``asyncio.run`` would then fail."""
