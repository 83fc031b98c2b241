"""The back-office processes ``brokerstack up`` runs: the worker, and the local stand-ins for
third parties that are not configured (the mail sink, the KYC and SMS simulators)."""

from __future__ import annotations

from brokerstack.settings import Settings
from brokerstack.supervisor import ProcessSpec, brokerstack_run


def backoffice_processes(settings: Settings, env: dict[str, str]) -> list[ProcessSpec]:
    host = settings.host
    kyc_port = settings.backoffice.kyc_simulator_port
    return [
        ProcessSpec(
            name="backoffice-worker",
            argv=brokerstack_run("backoffice-worker"),
            endpoint="back-office jobs (inbox, outbox, automations, screening)",
            env=env,
            ops_url=f"http://{host}:{settings.backoffice.worker_ops_port}",
        ),
        *(
            []
            if settings.backoffice.kyc_url
            else [
                ProcessSpec(
                    name="kyc-simulator",
                    argv=brokerstack_run("kyc-simulator"),
                    endpoint=f"KYC provider simulator http://{host}:{kyc_port}",
                    env=env,
                    ready_port=(host, kyc_port),
                )
            ]
        ),
    ]
