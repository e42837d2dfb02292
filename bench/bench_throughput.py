"""Dispatch throughput from a backlog (goal: >= 20 runs/s sustained, Fargate's RunTask rate).

The local stack without its workers: the command queue is filled with BENCH_THROUGHPUT_MESSAGES run
requests (1,000; `--quick` or BENCH_QUICK: 200) first, then the stack's own SQS poller
(`local_stack.poller`, batches of 10, as many at once as the template's DispatcherMaxConcurrency) hands
them to the dispatcher function, each execution environment a process of its own as in `make local-up`.
The tasks are launched into moto only: the local ECS agent is not started, so no runner runs (1,000
runner processes would measure this machine, not the launch path). Reported beside the rate: the
handler's own CPU time per record (its processes' CPU seconds) and moto server's time per record (each
request timed inside moto's WSGI app, by API action), and the GMS stand-in's likewise.

Two runs: the stack as deployed (RunTaskRate 20, so the dispatchers pace RunTask at Fargate's rate and
cannot go above it), and the dispatcher's own capacity with the pace lifted (RunTaskRate 1000). The goal
is met when the capacity is at least Fargate's rate (the launch path is never what holds runs back)
and the paced run keeps close to it (within 10 %) without going over.
`python -m bench throughput [--quick]`
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

GOAL_RUNS_PER_SECOND = 20.0
MESSAGES = int(os.environ.get("BENCH_THROUGHPUT_MESSAGES", "1000"))
QUICK_MESSAGES = 200
#: The template's DispatcherMaxConcurrency default: Lambda's SQS mapping runs at most this many batches at once.
CONCURRENCY = int(os.environ.get("BENCH_THROUGHPUT_CONCURRENCY", "5"))
#: Share of the batches left out at each end of the sustained rate (start-up of the environments, the tail).
EDGE = 0.1
#: RunTaskRate for the capacity run: high enough that the pace never waits.
UNPACED_RATE = 1000


class ServerTimer:
    """WSGI middleware around an in-process server's app (moto's, the GMS stand-in's): seconds and calls per action."""

    def __init__(self, app: Callable[..., Iterable[bytes]], action: Callable[[dict[str, Any]], str]) -> None:
        self.app = app
        self.action = action
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        body = list(self.app(environ, start_response))  # timed until the last byte
        elapsed = time.perf_counter() - started
        action = self.action(environ)
        with self._lock:
            self.seconds[action] += elapsed
            self.calls[action] += 1
        return body

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()


def _gms_action(environ: dict[str, Any]) -> str:
    return f"GMS {environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '')}"


def _aws_action(environ: dict[str, Any]) -> str:
    """`ECS.RunTask`, `SQS.ReceiveMessage`, ...: from X-Amz-Target (JSON protocols) or the query's Action."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        service, _, operation = target.partition(".")
        short = "ECS" if "ContainerService" in service else "SQS" if service.startswith("AmazonSQS") else service
        return f"{short}.{operation}"
    query = environ.get("QUERY_STRING", "")
    for pair in query.split("&"):
        if pair.startswith("Action="):
            return pair.removeprefix("Action=")
    host = environ.get("HTTP_HOST", "")
    return f"{environ.get('REQUEST_METHOD', '?')} {host.split('.')[0] or environ.get('PATH_INFO', '')}"


def _in_queue(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def _cpu_seconds(pids: Iterable[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(
    messages: int = MESSAGES, concurrency: int = CONCURRENCY, run_task_rate: int | None = None
) -> dict[str, Any]:
    from local_stack.commands import new_execution_urn, run_command
    from local_stack.poller import MappingConfig, SqsPoller
    from local_stack.stack import LOCAL_VISIBILITY_TIMEOUT_SECONDS, LocalStack

    recipe = {"source": {"type": "sqlalchemy", "config": {"platform": "sqlite", "connect_uri": "sqlite:///bench.db"}}}
    parameters = {"RunTaskRate": str(run_task_rate)} if run_task_rate else None
    stack = LocalStack(log_level="ERROR", with_workers=False, extra_parameters=parameters).start()
    try:
        assert stack.aws is not None and stack.info is not None and stack.moto is not None
        server = stack.moto._server._server  # werkzeug's server inside moto's ThreadedMotoServer
        timer = ServerTimer(server.app, _aws_action)
        server.app = timer
        assert stack.gms is not None
        gms_timer = ServerTimer(stack.gms._server.app, _gms_action)
        stack.gms._server.app = gms_timer
        sqs = stack.aws.client("sqs")
        queue_url = stack.info.queue_url
        for start in range(0, messages, 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(run_command(new_execution_urn("throughput"), recipe))}
                for i in range(start, min(start + 10, messages))
            ]
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        dispatcher = next(f for f in stack.functions.values() if f.handler.startswith("dispatcher."))
        for _ in range(concurrency - 1):  # every environment initialised before the clock starts (init is apart)
            dispatcher._release(dispatcher._spawn())

        lock = threading.Lock()
        handled = 0
        batches: list[tuple[float, float, int]] = []  # (start, end, records done)
        all_done = threading.Event()

        def invoke(event: dict[str, Any]) -> Any:
            nonlocal handled
            started = time.perf_counter()
            response = dispatcher.invoke(event)
            ended = time.perf_counter()
            done = len(event["Records"]) - len((response or {}).get("batchItemFailures", []))
            with lock:
                batches.append((started, ended, done))
                handled += done
                if handled >= messages:
                    all_done.set()
            return response

        pids = [worker.process.pid for worker in dispatcher._all]
        cpu_before = _cpu_seconds(pids)
        timer.reset()
        gms_timer.reset()
        config = MappingConfig(
            queue_url=queue_url,
            queue_arn=queue_arn,
            region=stack.aws.region,
            batch_size=10,
            visibility_timeout_seconds=LOCAL_VISIBILITY_TIMEOUT_SECONDS,
            concurrency=concurrency,
        )
        poller = SqsPoller(sqs, config, invoke, name="bench-dispatcher").start()
        started = time.perf_counter()
        finished = all_done.wait(timeout=max(120.0, messages / 2))
        wall = time.perf_counter() - started
        while finished and _in_queue(sqs, queue_url) and time.perf_counter() - started < wall + 30:
            time.sleep(0.2)  # a record received twice (visibility) is still handled: the queue ends empty
        poller.stop()
        handler_cpu = _cpu_seconds([worker.process.pid for worker in dispatcher._all]) - cpu_before
        moto_seconds, moto_calls = dict(timer.seconds), dict(timer.calls)
        gms_seconds = sum(gms_timer.seconds.values())
        gms_calls = sum(gms_timer.calls.values())
        tasks = len(stack.tasks("RUNNING"))
        environments = len(dispatcher._all)
    finally:
        stack.stop()
    if not finished:
        raise RuntimeError(f"only {handled} of {messages} runs handled in {wall:.0f} s")
    ordered = sorted(batches)
    edge = int(len(ordered) * EDGE)
    middle = ordered[edge : len(ordered) - edge] or ordered
    sustained = sum(b[2] for b in middle) / (max(b[1] for b in middle) - min(b[0] for b in middle))
    dispatcher_actions = {a: s for a, s in moto_seconds.items() if not a.startswith("SQS.")}
    return {
        "RunTaskRate": run_task_rate or "20 (the template's default)",
        "messages": messages,
        "records handled": handled,
        "tasks in moto (one per run)": tasks,
        "concurrency": concurrency,
        "environments": environments,
        "wall seconds": round(wall, 2),
        "overall runs/s": round(handled / wall, 1),
        "sustained runs/s": round(sustained, 1),
        "invoke ms per record": round(sum(b[1] - b[0] for b in batches) * 1000 / handled, 1),
        "handler CPU ms per record": round(handler_cpu * 1000 / handled, 1),
        "moto ms per record (dispatcher's calls)": round(sum(dispatcher_actions.values()) * 1000 / handled, 1),
        "moto ms per record (poller's SQS calls, long polls included)": round(
            sum(s for a, s in moto_seconds.items() if a.startswith("SQS.")) * 1000 / handled, 1
        ),
        "GMS stand-in ms per record": round(gms_seconds * 1000 / handled, 1),
        "GMS stand-in calls per record": round(gms_calls / handled, 2),
        "moto calls": dict(sorted(moto_calls.items())),
        "moto ms per call": {a: round(s * 1000 / moto_calls[a], 2) for a, s in sorted(moto_seconds.items())},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = sys.argv[1:] if argv is None else argv
    messages = QUICK_MESSAGES if "--quick" in args or os.environ.get("BENCH_QUICK") else MESSAGES
    print("Tasks are launched into moto only: the local ECS agent is not running, so no runner starts.")
    print("Records handled include redeliveries (20 s visibility locally); each run has one task (clientToken).")
    runs = {}
    for name, rate in (("paced", None), ("capacity", UNPACED_RATE)):
        figures = measure(messages, run_task_rate=rate)
        print(
            f"[{name}] backlog of {figures['messages']} run requests -> dispatcher through the local stack's SQS "
            f"poller ({figures['concurrency']} batches of 10 at once, {figures['environments']} environments)."
        )
        for label, value in figures.items():
            print(f"  {label}: {value}")
        runs[name] = figures
    capacity, paced = runs["capacity"]["sustained runs/s"], runs["paced"]["sustained runs/s"]
    met = goal_met(capacity, paced)
    print(
        f"Dispatcher capacity {capacity} runs/s (goal >= {GOAL_RUNS_PER_SECOND:.0f}); paced at RunTaskRate 20: "
        f"{paced} runs/s (goal: {0.9 * GOAL_RUNS_PER_SECOND:.0f}-{GOAL_RUNS_PER_SECOND:.1f}): "
        f"{'OK' if met else 'UNDER GOAL'}"
    )
    return {**runs["capacity"], "paced runs/s": paced}


def goal_met(capacity: float, paced: float) -> bool:
    """The launch path keeps up with Fargate's rate, and the pace holds the stack at it, not under or over it.

    The paced figure may exceed the rate by rounding only (sustained is measured between batch edges)."""
    return capacity >= GOAL_RUNS_PER_SECOND and 0.9 * GOAL_RUNS_PER_SECOND <= paced <= GOAL_RUNS_PER_SECOND * 1.05


if __name__ == "__main__":
    main()
