"""Domain 3: licence and permit applications (DOMAIN.md §3). The handler and schema arrive with the services issue."""
