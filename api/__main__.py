"""``python -m api``: serve the api with several uvicorn workers (what ``brokerstack up`` runs)."""

from __future__ import annotations

import argparse

import uvicorn

from api.settings import load_api_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    settings = load_api_settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=settings.workers,
        log_level="warning",
        proxy_headers=False,
        # Quotes are ~100-byte frames: compressing each costs more CPU than it saves bytes.
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
