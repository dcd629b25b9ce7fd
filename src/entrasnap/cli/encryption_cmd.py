"""``entrasnap key generate-encryption`` and ``key rotate-encryption`` (docs/ENCRYPTION.md)."""

from __future__ import annotations

import os

import typer

from entrasnap.cli.errors import fail, handle_errors
from entrasnap.cli.key_option import REFERENCE_HELP
from entrasnap.cli.snapshot_cmd import STORE_HELP


def generate_encryption() -> None:
    """Print a new random encryption key (32 bytes, base64) for `snapshot --encryption-key`. Keep it in
    Key Vault or a secret store: a repository encrypted with it cannot be read by anyone without it."""
    from entrasnap.store.keys import generate_key

    typer.echo(generate_key())


def rotate_encryption(
    store: str = typer.Option(..., "--store", help=STORE_HELP, envvar="ENTRASNAP_STORE"),
    old: str | None = typer.Option(None, "--from", metavar="REF", help=f"The current key. {REFERENCE_HELP}"),
    new: str = typer.Option(
        ..., "--to", metavar="REF", help="The new key: env:NAME, file:PATH or a Key Vault secret URL."
    ),
) -> None:
    """Make an encrypted repository open with a new key instead of the current one (the data stays as it
    is: the new key wraps the same repository master key)."""
    with handle_errors():
        from entrasnap.cli.key_option import operator_key, resolve
        from entrasnap.cli.store_option import open_store
        from entrasnap.store import Repository
        from entrasnap.store.keys import rotate

        old_key = operator_key(old)
        if old_key is None:
            raise fail("give the current key with --from REF (or ENTRASNAP_ENCRYPTION_KEY)")
        new_key = resolve(new.strip(), os.environ)
        backend = open_store(store)
        repository = Repository.open(backend, key=old_key)
        added, removed = rotate(backend, repository.id, old_key, new_key)
        typer.echo(
            f"added key file {added}; removed {', '.join(removed)}: only the new key opens {store} now"
        )


def register(group: typer.Typer) -> None:
    """Add ``generate-encryption`` and ``rotate-encryption`` to the ``entrasnap key`` group."""
    group.command("generate-encryption")(generate_encryption)
    group.command("rotate-encryption")(rotate_encryption)
