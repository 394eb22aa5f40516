"""One running peer: settings, the Starlette app, the CLI."""
