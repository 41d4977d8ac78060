"""Policy shared by the CLI and sweeps: defaults, validation, grids -> runs, result rows."""
