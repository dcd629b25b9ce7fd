"""Reading a tenant's configuration from Graph, type by type, into a sink."""

from entrasnap.collect.engine import Collector, NoProgress, Options, Progress, Sink, TypeResult
from entrasnap.collect.status import STATUSES, TypeFailure, classify

__all__ = [
    "STATUSES",
    "Collector",
    "NoProgress",
    "Options",
    "Progress",
    "Sink",
    "TypeFailure",
    "TypeResult",
    "classify",
]
