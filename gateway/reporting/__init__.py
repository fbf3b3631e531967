"""Domain 2: reporting (DOMAIN.md §2). The handler and schema arrive with the services issue."""
