"""A book shard's names: its command stream, its consumer (in Redis and in the command journal),
and the prefixes that keep its ledger keys and ClOrdIDs apart from other shards'."""

from __future__ import annotations

from dataclasses import dataclass

from brokerstack.streams import COMMANDS_STREAM


@dataclass(frozen=True, slots=True)
class Shard:
    name: str = "main"

    @property
    def commands_stream(self) -> str:
        return COMMANDS_STREAM.format(shard=self.name)

    @property
    def consumer(self) -> str:
        return f"execution:{self.name}"

    @property
    def entry_prefix(self) -> str:
        """Ledger transfers of this shard's balance changes: ``<prefix><entry id>``."""
        return f"{self.consumer}:"

    @property
    def lp_prefix(self) -> str:
        return f"bs-{self.name}"
