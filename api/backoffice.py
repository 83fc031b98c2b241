"""What the back-office routes use from the api process: the execution service as
:class:`backoffice.commands.ExecutionCommands` for synchronous routes.

Back-office services are synchronous (the worker, the dashboards and the command line call the
same functions); FastAPI runs a ``def`` route in its threadpool, and such a route reaches the
execution service through this process's asynchronous client on the event loop.
"""

from __future__ import annotations

import anyio.from_thread

from api.execution_client import ExecutionClient
from execution import contracts


class RouteCommands:
    def __init__(self, client: ExecutionClient) -> None:
        self._client = client

    def execute(self, command: contracts.Command) -> contracts.Reply:
        return anyio.from_thread.run(self._client.send, command, "request id")
