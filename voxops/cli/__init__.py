"""The typer app. Every module in this package that defines `register(app)` adds its commands."""
