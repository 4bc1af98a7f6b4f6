"""L2: business logic, one package per domain (see docs/architecture.md for the order)."""
