"""``--store``: a local folder or an Azure Blob container, with Azure credentials from the environment.

The variables are the Azure CLI's and SDKs': ``AZURE_STORAGE_CONNECTION_STRING``, then
``AZURE_STORAGE_SAS_TOKEN``, then ``AZURE_STORAGE_KEY`` (for ``AZURE_STORAGE_ACCOUNT``); with none of
them, azure-identity's DefaultAzureCredential (environment service principal, workload identity,
managed identity — ``AZURE_CLIENT_ID`` picks a user-assigned one —, Azure CLI, ...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from entrasnap.store import Backend, StoreError
from entrasnap.store.location import open_backend, parse

CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"
ACCOUNT = "AZURE_STORAGE_ACCOUNT"
ACCOUNT_KEY = "AZURE_STORAGE_KEY"


def open_store(store: str, environ: Mapping[str, str] | None = None) -> Backend:
    """The backend ``store`` names, authenticated from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    where = parse(store)
    if isinstance(where, Path):
        return open_backend(store)
    if env.get(CONNECTION_STRING):
        return open_backend(store, connection_string=env[CONNECTION_STRING])
    if env.get(SAS_TOKEN):
        return open_backend(store, sas_token=env[SAS_TOKEN])
    if env.get(ACCOUNT_KEY) and not where.sas:
        named = env.get(ACCOUNT, where.account).lower()
        if named != where.account:
            raise StoreError(
                f"{ACCOUNT_KEY} is the key of {ACCOUNT}={named}, but the store {where.display} "
                f"is in account {where.account}"
            )
        return open_backend(store, account_key=env[ACCOUNT_KEY])
    if where.sas:
        return open_backend(store)
    from azure.identity import DefaultAzureCredential

    return open_backend(store, credential=DefaultAzureCredential(exclude_interactive_browser_credential=True))
