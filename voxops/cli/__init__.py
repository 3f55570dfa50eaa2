"""The typer app: the command modules listed in `main.COMMAND_MODULES`, each with `register(app)`."""
