from voxops.cli.main import run

run()
