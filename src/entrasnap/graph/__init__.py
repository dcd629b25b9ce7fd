"""The only code that speaks HTTP to Microsoft Graph: an async client with paging, batching and throttling."""

from entrasnap.graph.client import GraphClient
from entrasnap.graph.clouds import CLOUDS, Cloud
from entrasnap.graph.errors import GraphAuthenticationError, GraphConnectionError, GraphRequestError
from entrasnap.graph.models import BatchItem, BatchResult, ClientStats, GraphEvent
from entrasnap.graph.tokens import StaticToken, TokenProvider

__all__ = [
    "CLOUDS",
    "BatchItem",
    "BatchResult",
    "ClientStats",
    "Cloud",
    "GraphAuthenticationError",
    "GraphClient",
    "GraphConnectionError",
    "GraphEvent",
    "GraphRequestError",
    "StaticToken",
    "TokenProvider",
]
