"""Domain 4: powers of attorney, МЧД (DOMAIN.md §4). The handler and schema arrive with the services issue."""
