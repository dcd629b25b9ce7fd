"""National clouds: the Graph endpoint and the Entra ID authority host of each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cloud:
    graph: str  # Graph base URL, without version
    authority: str  # sign-in authority URL

    @property
    def scope(self) -> str:
        """The scope that asks for every application permission granted on Graph."""
        return f"{self.graph}/.default"


CLOUDS: dict[str, Cloud] = {
    "global": Cloud(graph="https://graph.microsoft.com", authority="https://login.microsoftonline.com"),
    "usgov": Cloud(graph="https://graph.microsoft.us", authority="https://login.microsoftonline.us"),
    "usgov-dod": Cloud(graph="https://dod-graph.microsoft.us", authority="https://login.microsoftonline.us"),
    "china": Cloud(
        graph="https://microsoftgraph.chinacloudapi.cn", authority="https://login.chinacloudapi.cn"
    ),
}
