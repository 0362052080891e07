"""``python -m idverify``: the same as the ``idverify`` command."""

from idverify.cli import app

app()
