"""The settlement-folder sensor: a new or changed bank statement file asks for the
reconciliation of each trade date it carries.

The cursor is the folder as last seen (file name -> modification time and size), so a file
is looked at again only when it changes; a run key of the file's SHA-256 and the day keeps a
file renamed or touched without change from asking twice. A bad file requests nothing and is
logged here (the reconciliation run reports it again when it loads the folder).
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from pipelines.client_money.statements import SettlementFileError, parse_statement, statement_paths
from pipelines.partitions import key_for, trading_days
from pipelines.resources import DataFolders

RECONCILIATION_ASSET = "client_money_reconciliation"

client_money_job = dg.define_asset_job(
    "client_money_job",
    selection=dg.AssetSelection.assets(RECONCILIATION_ASSET),
    description="The client-money reconciliation of one trading day (with its checks).",
)


@dg.sensor(
    job=client_money_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def settlement_files_sensor(
    context: dg.SensorEvaluationContext, folders: DataFolders
) -> dg.SensorResult:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    present: dict[str, str] = {}
    requests: list[dg.RunRequest] = []
    for path in statement_paths(folders.settlements):
        stat = path.stat()
        present[path.name] = f"{stat.st_mtime_ns}:{stat.st_size}"
        if seen.get(path.name) == present[path.name]:
            continue
        data = path.read_bytes()
        try:
            days = sorted({row.as_of for row in parse_statement(data)})
        except SettlementFileError as error:
            context.log.warning(f"settlement file {path.name} rejected: {error}")
            continue
        digest = hashlib.sha256(data).hexdigest()
        for day in days:
            key = key_for(day)
            if not trading_days.has_partition_key(key):
                context.log.warning(f"settlement file {path.name}: no trading day ends {day}")
                continue
            requests.append(
                dg.RunRequest(
                    run_key=f"{digest}:{key}",
                    partition_key=key,
                    tags={"settlement_file": path.name},
                )
            )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(present, sort_keys=True))
