"""L4: the command-line adaptor (Typer); one module per area, rich progress on long work."""
