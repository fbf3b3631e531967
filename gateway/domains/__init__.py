"""The business domains: one sub-package each (descriptor, state table, handlers)."""
