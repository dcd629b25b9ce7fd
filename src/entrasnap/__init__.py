"""entrasnap: tamper-evident, point-in-time history of a Microsoft Entra ID tenant's configuration."""

__version__ = "0.1.0"
