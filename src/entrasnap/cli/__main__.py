"""``python -m entrasnap.cli``: the same as the ``entrasnap`` command."""

from entrasnap.cli.main import run

run()
