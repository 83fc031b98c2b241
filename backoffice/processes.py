"""The back-office processes ``brokerstack up`` runs: the worker, and the local stand-ins for
third parties that are not configured (the mail sink, the KYC, SMS, card, e-wallet and crypto
PSP simulators)."""

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
        *_comms_stand_ins(settings, env),
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
                    ops_url=f"http://{host}:{settings.backoffice.kyc_simulator_ops_port}",
                )
            ]
        ),
        *(
            []
            if settings.backoffice.card_psp_url
            else [
                ProcessSpec(
                    name="card-psp-simulator",
                    argv=brokerstack_run("card-psp-simulator"),
                    endpoint="card PSP simulator http://"
                    f"{host}:{settings.backoffice.card_psp_simulator_port}",
                    env=env,
                    ready_port=(host, settings.backoffice.card_psp_simulator_port),
                    ops_url=f"http://{host}:{settings.backoffice.card_psp_simulator_ops_port}",
                )
            ]
        ),
        *_psp_stand_ins(settings, env),
    ]


def _psp_stand_ins(settings: Settings, env: dict[str, str]) -> list[ProcessSpec]:
    """The e-wallet and crypto PSP simulators, each where no such provider is set."""
    config, host = settings.backoffice, settings.host
    specs = []
    if not config.ewallet_psp_url:
        specs.append(
            ProcessSpec(
                name="ewallet-simulator",
                argv=brokerstack_run("ewallet-simulator"),
                endpoint=f"e-wallet PSP simulator http://{host}:{config.ewallet_psp_simulator_port}",
                env=env,
                ready_port=(host, config.ewallet_psp_simulator_port),
                ops_url=f"http://{host}:{config.ewallet_psp_simulator_ops_port}",
            )
        )
    if not config.crypto_psp_url:
        specs.append(
            ProcessSpec(
                name="crypto-simulator",
                argv=brokerstack_run("crypto-simulator"),
                endpoint=f"crypto PSP simulator http://{host}:{config.crypto_psp_simulator_port}",
                env=env,
                ready_port=(host, config.crypto_psp_simulator_port),
                ops_url=f"http://{host}:{config.crypto_psp_simulator_ops_port}",
            )
        )
    return specs


def _comms_stand_ins(settings: Settings, env: dict[str, str]) -> list[ProcessSpec]:
    """The mail sink without an SMTP URL, the SMS simulator without an SMS URL."""
    config, host = settings.backoffice, settings.host
    specs = []
    if not config.smtp_url:
        specs.append(
            ProcessSpec(
                name="smtp-sink",
                argv=brokerstack_run("smtp-sink"),
                endpoint=f"smtp://{host}:{config.smtp_sink_port} (mail kept in "
                f"{settings.data_dir / 'mail'})",
                env=env,
                ready_port=(host, config.smtp_sink_port),
                ops_url=f"http://{host}:{config.smtp_sink_ops_port}",
            )
        )
    if not config.sms_url:
        specs.append(
            ProcessSpec(
                name="sms-simulator",
                argv=brokerstack_run("sms-simulator"),
                endpoint=f"http://{host}:{config.sms_simulator_port}/2010-04-01/Accounts/"
                f"{config.sms_account_sid}/Messages.json",
                env=env,
                ready_port=(host, config.sms_simulator_port),
                ops_url=f"http://{host}:{config.sms_simulator_ops_port}",
            )
        )
    return specs
