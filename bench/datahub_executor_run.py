"""One ingestion through DataHub's own executor, as its remote executor runs one: for bench_runner.

`python bench/datahub_executor_run.py <exec_id> <work_dir>` with the recipe on stdin and DATAHUB_GMS_URL /
DATAHUB_GMS_TOKEN set: a `ReportingExecutor` (kickoff, progress and completion written to GMS) running
`SubProcessIngestionTask` (the recipe through its `run_ingest` wrapper in a subprocess) with
version "native" (this interpreter's environment: no venv to build, like the runner's baked plugins).
Exit 0 when the result is SUCCESS.
"""

from __future__ import annotations

import os
import sys


def main(exec_id: str, work_dir: str) -> int:
    from datahub.executor.execution.reporting_executor import ReportingExecutor, ReportingExecutorConfig
    from datahub.executor.execution.task import TaskConfig
    from datahub.executor.request.execution_request import ExecutionRequest
    from datahub.ingestion.graph.client import DatahubClientConfig, DataHubGraph

    graph = DataHubGraph(
        DatahubClientConfig(server=os.environ["DATAHUB_GMS_URL"], token=os.environ["DATAHUB_GMS_TOKEN"])
    )
    task = TaskConfig(
        name="RUN_INGEST",
        type="datahub.executor.execution.sub_process_ingestion_task.SubProcessIngestionTask",
        configs={"tmp_dir": f"{work_dir}/tmp", "log_dir": f"{work_dir}/logs"},
    )
    executor = ReportingExecutor(
        ReportingExecutorConfig(id="default", task_configs=[task], secret_stores=[], graph_client=graph)
    )
    request = ExecutionRequest(
        exec_id=exec_id, name="RUN_INGEST", args={"recipe": sys.stdin.read(), "version": "native"}
    )
    result = executor.execute(request)
    executor.shutdown()
    print(f"DataHub executor result: {result.type.name}", file=sys.stderr)
    if result.type.name != "SUCCESS":
        print(result.get_summary()[-4000:], file=sys.stderr)
    return 0 if result.type.name == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
