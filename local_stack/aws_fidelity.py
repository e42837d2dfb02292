"""The one place that makes moto refuse what AWS refuses and honour what AWS honours.

moto 5.2.5 accepts requests real services reject (any `startedBy`, `startedBy` beside other
ListTasks filters, any overrides size, 1,025-byte S3 keys, over-long tags) and ignores RunTask's
`clientToken`. `install()` patches moto, process-wide and idempotently, so that the in-process
`mock_aws` of the tests and the local stack's moto server (same process, same classes) both answer
like AWS. Each rule names its source; every rule has a test in tests/unit/local_stack/test_aws_fidelity.py.

What is checked, on every request to a JSON-protocol service (ECS, SQS, Secrets Manager, CloudWatch
Logs, EventBridge: everything the product calls except S3):

* the body against botocore's own operation model, with botocore's `ParamValidator` (a test or tool
  may have turned client-side validation off; the real service validates anyway), plus the `max`
  lengths and counts the model carries and `ParamValidator` does not check (e.g. tag keys 128,
  tag values 256, 50 tags);
* ECS rules the model does not carry (ECS API reference, and what ECS is reported to enforce):
  ListTasks with `startedBy` takes no other filter; `startedBy` at most 36 characters on RunTask and
  ListTasks; RunTask `overrides` at most 8,192 characters of JSON;
* ECS RunTask `clientToken` (ECS API reference "Ensuring idempotency"): for 24 hours the same token
  with the same parameters returns the task(s) of the first call and launches nothing; the same
  token with other parameters is a `ConflictException` naming the existing task(s).
* ECS RunTask's rate ("Amazon Fargate throttling quotas": 20 calls per second, burst and sustained,
  a token bucket per account and Region), when a test or the local stack sets `run_task_throttle`:
  a call the bucket has no token for is a `ThrottlingException` "Rate exceeded". Every RunTask call
  moto serves is timed in `run_task_calls` (monotonic seconds), throttled or not.
* SQS `MessageGroupId` on SendMessage (API reference): on a standard queue it keys fair queues; at
  most 128 characters, alphanumeric and punctuation only (`InvalidParameterValue` otherwise).

Fargate's room (`FargateConditions`, off by default; set with `set_fargate_conditions`, read by the local
stack's options and the tests): the account's Fargate vCPU quotas (Service Quotas "Fargate On-Demand vCPU
resource count" L-3032A538 and "Fargate Spot vCPU resource count" L-36FBB829), counted over the region's
tasks that have not stopped, and a share of RunTask calls that find no capacity (any, or Spot only).
RunTask then answers as ECS does: HTTP 200, no task, one `failures[]` entry whose `reason` is ECS's own
sentence ("Capacity is unavailable at this time. Please try again later or in a different availability
zone"; "You\u2019ve reached the limit on the number of vCPUs you can run concurrently", with the
typographic apostrophe ECS writes). A refused call launches nothing and leaves its clientToken unused.

Service Quotas: moto 5.2.5 knows only `vpc`. GetServiceQuota for `fargate` L-3032A538 / L-36FBB829 answers the
quota the conditions above set (the local stack's `--vcpu-quota` / `--spot-vcpu-quota`), with the fields
AWS returns; a quota the conditions leave at 0 answers `NoSuchResourceException`, as moto does for any
service it does not know: the dispatcher's default limit then falls back to "none of the stack's own".
With `vcpu_quotas_applied=False` (an account that never adjusted them) GetServiceQuota answers
`NoSuchResourceException` for them, as Service Quotas does for a quota with no applied value, and
GetAWSDefaultServiceQuota (which moto lacks) answers their value.

S3 (rest-xml, not parsed here): object keys over 1,024 UTF-8 bytes are refused (`KeyTooLongError`).

CloudFormation: a generated physical name is at most 64 characters (CloudFormation truncates the stack
name and logical id to fit, "stack-LogicalId-RANDOM"); moto does not, and its names would then break
the model's limits above (e.g. an EventBridge rule name over 64).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from executor_common.token_bucket import TokenBucket

#: ECS: "When you specify startedBy as the filter, it must be the only filter that you use."
LIST_TASKS_FILTERS = ("containerInstance", "family", "serviceName", "desiredStatus", "launchType", "daemonName")
#: ECS rejects a longer `startedBy` on RunTask and on the ListTasks filter.
STARTED_BY_MAX = 36
#: ECS: "Container Overrides length must be at most 8192" (the JSON of the whole `overrides`).
OVERRIDES_MAX = 8192
#: S3: "The name for a key is a sequence of Unicode characters whose UTF-8 encoding is at most 1,024 bytes long."
S3_KEY_MAX_BYTES = 1024
#: ECS keeps a clientToken idempotent this long.
CLIENT_TOKEN_LIFETIME_SECONDS = 24 * 3600
#: CloudFormation's generated physical names fit the common resource-name limit.
CFN_GENERATED_NAME_MAX = 64
#: JSON-protocol services whose requests are validated against botocore's model.
VALIDATED_SERVICES = ("ecs", "sqs", "secretsmanager", "logs", "events")

#: SQS: "The length of MessageGroupId is 128 characters. Valid values: alphanumeric characters and punctuation".
MESSAGE_GROUP_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
#: Fargate's RunTask quota: 20 calls per second, burst and sustained.
FARGATE_RUN_TASK_RATE = 20.0

#: AWS's RunTask bucket; None (the default) serves every call, as moto does.
run_task_throttle: TokenBucket | None = None
#: `(monotonic seconds, throttled)` for each RunTask call moto answered, oldest first.
run_task_calls: deque[tuple[float, bool]] = deque(maxlen=100_000)
#: RunTask's `failures[].reason` when Fargate (or Fargate Spot) has no capacity now.
CAPACITY_UNAVAILABLE_REASON = (
    "Capacity is unavailable at this time. Please try again later or in a different availability zone"
)
#: RunTask's `failures[].reason` when the account's Fargate vCPU quota is used up (U+2019, as ECS writes it).
VCPU_LIMIT_REASON = "You\u2019ve reached the limit on the number of vCPUs you can run concurrently"
#: ECS counts task CPU in units: 1024 = 1 vCPU.
CPU_UNITS_PER_VCPU = 1024
#: False plays raw moto (no clientToken idempotency), for a test that shows what protects users without it.
honour_client_token = True
#: Replaceable clock (seconds), so a test can move past the clientToken lifetime.
clock: Callable[[], float] = time.time
_LOCK = threading.Lock()
_INSTALLED = False


def _service_exception(code: str, message: str, **fields: Any) -> Exception:
    """A moto `ServiceException` serialized with the service's own error shape (found by `code`)."""
    from moto.core.exceptions import ServiceException

    error = type("AwsRuleError", (ServiceException,), {})(code, message)
    for name, value in fields.items():
        setattr(error, name, value)
    return error


@cache
def _operation_model(service: str, action: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service).operation_model(action)


def _max_violations(value: Any, shape: Any, path: str) -> list[str]:
    """What in `value` is longer or has more items than `shape`'s `max` (ParamValidator checks only `min`)."""
    limit = shape.metadata.get("max")
    problems: list[str] = []
    if shape.type_name == "string" and isinstance(value, str) and limit is not None and len(value) > limit:
        problems.append(f"{path}: length {len(value)} is above the maximum of {limit}")
    elif shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                problems += _max_violations(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        if limit is not None and len(value) > limit:
            problems.append(f"{path}: {len(value)} items, above the maximum of {limit}")
        for index, item in enumerate(value):
            problems += _max_violations(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        if limit is not None and len(value) > limit:
            problems.append(f"{path}: {len(value)} entries, above the maximum of {limit}")
        for key, item in value.items():
            problems += _max_violations(key, shape.key, f"{path} key")
            problems += _max_violations(item, shape.value, f"{path}.{key}")
    return problems


def validate_against_model(service: str, action: str, params: dict[str, Any]) -> str | None:
    """botocore's verdict on `params` for `service`'s `action` (plus the model's maxima); None when valid."""
    from botocore.validate import ParamValidator

    model = _operation_model(service, action)
    if model.input_shape is None:
        return None
    report = ParamValidator().validate(params, model.input_shape)
    problems = [report.generate_report()] if report.has_errors() else []
    problems += _max_violations(params, model.input_shape, "params")
    return "; ".join(problems) or None


def ecs_rule_violation(action: str, params: dict[str, Any]) -> str | None:
    """The ECS rule (not in botocore's model) that `params` breaks, as ECS words it; None when none."""
    started_by = params.get("startedBy")
    if action in ("RunTask", "ListTasks") and isinstance(started_by, str) and len(started_by) > STARTED_BY_MAX:
        return f"startedBy must be at most {STARTED_BY_MAX} characters (got {len(started_by)})"
    if action == "ListTasks" and started_by is not None:
        others = [name for name in LIST_TASKS_FILTERS if params.get(name) is not None]
        if others:
            return f"startedBy must be the only filter; also given: {', '.join(others)}"
    if action == "RunTask" and params.get("overrides") is not None:
        size = len(json.dumps(params["overrides"], separators=(",", ":"), ensure_ascii=False))
        if size > OVERRIDES_MAX:
            return f"Container Overrides length must be at most {OVERRIDES_MAX} (got {size})"
    return None


def sqs_rule_violation(action: str, params: dict[str, Any]) -> str | None:
    """The SQS rule (not in botocore's model) that `params` breaks; None when none."""
    # SendMessageBatch is not checked: AWS fails a bad entry alone (SenderFault), and the product sends one at a time.
    if action == "SendMessage":
        group = params.get("MessageGroupId")
        if group is not None and not (isinstance(group, str) and MESSAGE_GROUP_ID.fullmatch(group)):
            return (
                "Value for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include "
                "alphanumeric and punctuation characters. 1 to 128 in length."
            )
    return None


def _request_params(response: Any) -> dict[str, Any] | None:
    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        params = json.loads(body or "{}")
    except ValueError:
        return None
    return params if isinstance(params, dict) else None


def check_request(response: Any) -> Exception | None:
    """The error AWS would answer to the request `response` (a moto BaseResponse) is handling, or None."""
    service = response.boto3_service_name
    if service not in VALIDATED_SERVICES:
        return None
    action = response._get_action()
    params = _request_params(response)
    if not action or params is None:
        return None
    try:
        problem = validate_against_model(service, action, params)
    except Exception:
        return None
    if problem:
        code = "InvalidParameterException" if service == "ecs" else "ValidationException"
        return _service_exception(code, problem)
    if service == "ecs":
        problem = ecs_rule_violation(action, params)
        if problem:
            return _service_exception("InvalidParameterException", problem)
    if service == "sqs":
        problem = sqs_rule_violation(action, params)
        if problem:
            return _service_exception("InvalidParameterValue", problem)
    return None


# -- RunTask clientToken --------------------------------------------------------------------------
def _fingerprint(params: dict[str, Any]) -> str:
    same = {name: value for name, value in params.items() if name != "clientToken"}
    return hashlib.sha256(json.dumps(same, sort_keys=True, default=str).encode()).hexdigest()


def _run_task_with_client_token(original: Callable[[Any], Any]) -> Callable[..., Any]:
    def run_task(self: Any) -> Any:
        from moto.core.responses import ActionResult

        throttle = run_task_throttle
        throttled = throttle is not None and not throttle.try_take()
        run_task_calls.append((time.monotonic(), throttled))
        if throttled:
            raise _service_exception("ThrottlingException", "Rate exceeded")
        params = _request_params(self) or {}
        token = params.get("clientToken")
        if not token or not honour_client_token:
            return original(self)
        backend = self.ecs_backend
        # Kept on moto's backend object: moto's reset (mock_aws exit, /moto-api/reset) forgets them with it.
        tokens: dict[tuple[str, str], tuple[str, float, list[Any]]] = backend.__dict__.setdefault(
            "_fidelity_client_tokens", {}
        )
        key = (str(params.get("cluster") or "default"), str(token))
        fingerprint = _fingerprint(params)
        with _LOCK:
            known = tokens.get(key)
            if known is not None and clock() - known[1] < CLIENT_TOKEN_LIFETIME_SECONDS:
                if known[0] != fingerprint:
                    arns = [task.task_arn for task in known[2]]
                    raise _service_exception(
                        "ConflictException",
                        "The specified client token has already been used in a request with different parameters.",
                        resourceIds=arns,
                    )
                return ActionResult({"tasks": known[2], "failures": []})
            result = original(self)
            if result.result["tasks"]:  # a refused call (failures, no task) leaves the token unused
                tokens[key] = (fingerprint, clock(), list(result.result["tasks"]))
            return result

    run_task._aws_fidelity = True  # type: ignore[attr-defined]
    return run_task


# -- Fargate's room: quotas and capacity -------------------------------------------------------
@dataclass(frozen=True)
class FargateConditions:
    """What the account and the region give RunTask. 0 = no quota / never refused."""

    on_demand_vcpu_quota: float = 0
    spot_vcpu_quota: float = 0
    #: Share of RunTask calls (on-demand or Spot) answered "Capacity is unavailable".
    capacity_failure_rate: float = 0
    #: Share of Spot RunTask calls answered "Capacity is unavailable" (on-demand is not short).
    spot_no_capacity_rate: float = 0
    #: False: the quotas were never adjusted, so Service Quotas has no applied value, only AWS's default.
    vcpu_quotas_applied: bool = True
    seed: int = 14


@dataclass
class _FargateState:
    conditions: FargateConditions = field(default_factory=FargateConditions)
    rng: random.Random = field(default_factory=lambda: random.Random(14))
    #: What was refused so far, by kind (capacity, spot-capacity, vcpu-quota, spot-vcpu-quota).
    refused: Counter[str] = field(default_factory=Counter)


_fargate = _FargateState()
#: Its own lock: RunTask's clientToken check holds `_LOCK` while the call goes on to the room check.
_FARGATE_LOCK = threading.Lock()


def set_fargate_conditions(conditions: FargateConditions | None = None) -> None:
    """Replace the conditions (None: no quota, no refusal) and restart their random draws and counts."""
    global _fargate
    conditions = conditions or FargateConditions()
    with _FARGATE_LOCK:
        _fargate = _FargateState(conditions, random.Random(conditions.seed))


def fargate_conditions() -> FargateConditions:
    return _fargate.conditions


def fargate_refusals() -> dict[str, int]:
    """How many RunTask calls were refused under the current conditions, by kind."""
    with _FARGATE_LOCK:
        return dict(_fargate.refused)


def _wants_spot(params: dict[str, Any]) -> bool:
    strategy = params.get("capacityProviderStrategy") or []
    return any(item.get("capacityProvider") == "FARGATE_SPOT" for item in strategy)


def _vcpus_in_use(backend: Any, *, spot: bool) -> float:
    """vCPUs of the region's tasks that have not stopped, on Spot or on on-demand."""
    units = 0
    for tasks in backend.tasks.values():
        for task in tasks.values():
            if task.last_status == "STOPPED" or (task.capacity_provider_name == "FARGATE_SPOT") != spot:
                continue
            units += int(getattr(task, "cpu", None) or 0)
    return units / CPU_UNITS_PER_VCPU


def _requested_vcpus(backend: Any, params: dict[str, Any]) -> float:
    cpu = (params.get("overrides") or {}).get("cpu")
    if not cpu:
        with contextlib.suppress(Exception):  # an unknown task definition: RunTask itself says so
            cpu = backend.describe_task_definition(params.get("taskDefinition")).cpu
    return int(cpu or 0) / CPU_UNITS_PER_VCPU * max(1, int(params.get("count") or 1))


def fargate_refusal(backend: Any, params: dict[str, Any]) -> str | None:
    """The `failures[].reason` RunTask answers under the current conditions, or None when it may launch."""
    conditions, spot = _fargate.conditions, _wants_spot(params)
    quota = conditions.spot_vcpu_quota if spot else conditions.on_demand_vcpu_quota
    kind = reason = None
    with _FARGATE_LOCK:
        roll = _fargate.rng.random()
        if spot and roll < conditions.spot_no_capacity_rate:
            kind, reason = "spot-capacity", CAPACITY_UNAVAILABLE_REASON
        elif roll < conditions.spot_no_capacity_rate * spot + conditions.capacity_failure_rate:
            kind, reason = "capacity", CAPACITY_UNAVAILABLE_REASON
        elif quota > 0 and _vcpus_in_use(backend, spot=spot) + _requested_vcpus(backend, params) > quota:
            kind, reason = ("spot-vcpu-quota" if spot else "vcpu-quota"), VCPU_LIMIT_REASON
        if kind is not None:
            _fargate.refused[kind] += 1
    return reason


def _run_task_within_fargate_room(original: Callable[[Any], Any]) -> Callable[..., Any]:
    def run_task(self: Any) -> Any:
        from moto.core.responses import ActionResult

        reason = fargate_refusal(self.ecs_backend, _request_params(self) or {})
        if reason is None:
            return original(self)
        return ActionResult({"tasks": [], "failures": [{"reason": reason}]})

    run_task._aws_fidelity = True  # type: ignore[attr-defined]
    return run_task


# -- Service Quotas: the Fargate vCPU quotas ----------------------------------------------------------
#: Service Quotas' Fargate vCPU quotas: code -> (name, which FargateConditions field holds its value).
FARGATE_VCPU_QUOTAS = {
    "L-3032A538": ("Fargate On-Demand vCPU resource count", "on_demand_vcpu_quota"),
    "L-36FBB829": ("Fargate Spot vCPU resource count", "spot_vcpu_quota"),
}


def _fargate_quotas(original: Callable[..., Any], *, applied: bool) -> Callable[..., Any]:
    """GetServiceQuota (`applied`: none when the conditions say never adjusted) or GetAWSDefaultServiceQuota (always)
    for the Fargate vCPU quotas the conditions set."""

    def get_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
        known = FARGATE_VCPU_QUOTAS.get(quota_code) if service_code == "fargate" else None
        value = float(getattr(_fargate.conditions, known[1])) if known else 0.0
        if known is None or value <= 0 or (applied and not _fargate.conditions.vcpu_quotas_applied):
            return dict(original(self, service_code=service_code, quota_code=quota_code))
        return {
            "ServiceCode": "fargate",
            "ServiceName": "AWS Fargate",
            "QuotaArn": f"arn:aws:servicequotas:{self.region_name}:{self.account_id}:fargate/{quota_code}",
            "QuotaCode": quota_code,
            "QuotaName": known[0],
            "Value": value,
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }

    return get_quota


def _no_default_quota(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
    """moto has no GetAWSDefaultServiceQuota: the answer for a quota it does not know."""
    from moto.servicequotas.exceptions import NoSuchResource

    raise NoSuchResource


def _get_aws_default_service_quota(self: Any) -> str:
    """The response side moto lacks, shaped as its GetServiceQuota."""
    params = json.loads(self.body)
    quota = self.backend.get_aws_default_service_quota(
        service_code=str(params.get("ServiceCode")), quota_code=str(params.get("QuotaCode"))
    )
    return json.dumps({"Quota": quota})


# -- task size ------------------------------------------------------------------------------------
def _tasks_carry_their_size(original: Callable[..., Any]) -> Callable[..., Any]:
    """ECS's DescribeTasks returns a task's `cpu`/`memory` (its overrides, else its task definition's); moto omits them.

    The dispatcher's admission control adds up the `cpu` of the cluster's running tasks.
    """

    def run_task(self: Any, *args: Any, **kwargs: Any) -> Any:
        tasks = original(self, *args, **kwargs)
        for task in tasks:
            definition = self.describe_task_definition(task.task_definition_arn)
            overrides = task.overrides or {}
            task.cpu = str(overrides.get("cpu") or getattr(definition, "cpu", None) or "") or None
            task.memory = str(overrides.get("memory") or getattr(definition, "memory", None) or "") or None
        return tasks

    run_task._aws_fidelity = True  # type: ignore[attr-defined]
    return run_task


# -- S3 key length --------------------------------------------------------------------------------
def forget_client_tokens(ecs_backend: Any) -> None:
    """Forget every RunTask clientToken one moto ECS backend has seen (a test resetting to a fresh stack)."""
    with _LOCK:
        ecs_backend.__dict__.pop("_fidelity_client_tokens", None)


def check_s3_key(key_name: str) -> None:
    from moto.s3.exceptions import S3ClientError

    size = len(key_name.encode("utf-8"))
    if size > S3_KEY_MAX_BYTES:
        raise S3ClientError("KeyTooLongError", f"Your key is too long ({size} bytes; at most {S3_KEY_MAX_BYTES})")


def _with_s3_key_check(original: Callable[..., Any], key_argument: str, position: int) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = kwargs.get(key_argument, args[position] if len(args) > position else None)
        if isinstance(key, str):
            check_s3_key(key)
        return original(self, *args, **kwargs)

    return method


def _bounded_generated_names(original: Callable[[str, str, str], str]) -> Callable[..., str]:
    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        name = original(resource_type, stack_name, logical_id)
        if len(name) <= CFN_GENERATED_NAME_MAX:
            return name
        prefix, _, suffix = name.rpartition("-")
        return f"{prefix[: CFN_GENERATED_NAME_MAX - len(suffix) - 1].rstrip('-')}-{suffix}"

    return generate_resource_name


def _retention_check_reads_one_attribute(self: Any, queue_name: str, message: Any) -> bool:
    """moto's check of a received message against the queue's retention, reading that one attribute.

    moto 5.2.5 builds every queue attribute for it, for each message a ReceiveMessage returns, and three of
    them count the whole queue with a datetime per message: from a 1,000-message backlog one receive took
    1.4 s of moto server time (bench/bench_throughput.py), where SQS answers in milliseconds whatever the
    depth. Same rule as moto's: a message older than MessageRetentionPeriod is not delivered.
    """
    from moto.core.utils import unix_time

    retention_seconds = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention_seconds + message.sent_timestamp / 1000 > unix_time())


#: S3 evaluates a conditional write or delete (If-None-Match, If-Match) and applies it as one step;
#: moto checks, then writes, so two threads could both create one key. One lock makes it one step here.
#: A LIST is a consistent snapshot on S3; moto iterates the bucket's live dict, and a delete in another
#: thread made it answer 500 (KeyError) in the fleet bench, so listing takes the same lock.
S3_ONE_STEP_LOCK = threading.RLock()
#: ECS answers ListTasks/DescribeTasks consistently while tasks start and stop; moto iterates the cluster's
#: live task dict, and a RunTask in another thread made DescribeTasks answer 500 ("dictionary changed size
#: during iteration") in the fleet bench. The calls that read or change that dict take one lock.
ECS_ONE_STEP_LOCK = threading.RLock()


#: SQS too: moto's ReceiveMessage copies the queue's pending set while another thread's DeleteMessage changes
#: it, and two DeleteMessage calls each rebuild the message list from the same old one (one deletion lost).
#: Not reentrant: ReceiveMessage gives it up while it long-polls (`_sqs_wait_lets_others_in`).
SQS_ONE_STEP_LOCK = threading.Lock()


def _sqs_wait_lets_others_in(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's long poll waits inside ReceiveMessage: a send or delete must get in meanwhile, as on SQS."""

    def wait_for_messages(self: Any, timeout: int) -> None:
        SQS_ONE_STEP_LOCK.release()
        try:
            original(self, timeout)
        finally:
            SQS_ONE_STEP_LOCK.acquire()

    return wait_for_messages


def _one_step(lock: Any, original: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    return method


def install() -> None:
    """Patch moto (idempotent, process-wide): every rule above, for `mock_aws` and the moto server alike."""
    global _INSTALLED
    with _LOCK:
        if _INSTALLED:
            return
        from moto.cloudformation import parsing
        from moto.core.responses import ActionResult, BaseResponse
        from moto.ecs.models import EC2ContainerServiceBackend
        from moto.ecs.responses import EC2ContainerServiceResponse
        from moto.s3.models import S3Backend
        from moto.s3.responses import S3Response
        from moto.servicequotas.models import ServiceQuotasBackend
        from moto.servicequotas.responses import ServiceQuotasResponse
        from moto.sqs.models import Queue as SQSQueue
        from moto.sqs.models import SQSBackend

        original_call_action = BaseResponse.call_action

        def call_action(self: Any) -> Any:
            error = check_request(self)
            if error is None:
                return original_call_action(self)
            status, headers, body = self.serialized(ActionResult(error))
            return status, headers, body

        BaseResponse.call_action = call_action  # type: ignore[method-assign]
        EC2ContainerServiceResponse.run_task = _run_task_with_client_token(  # type: ignore[method-assign]
            _run_task_within_fargate_room(EC2ContainerServiceResponse.run_task)
        )
        EC2ContainerServiceBackend.run_task = _tasks_carry_their_size(  # type: ignore[method-assign]
            EC2ContainerServiceBackend.run_task
        )
        S3Backend.put_object = _with_s3_key_check(S3Backend.put_object, "key_name", 1)  # type: ignore[method-assign]
        S3Backend.create_multipart_upload = _with_s3_key_check(  # type: ignore[method-assign]
            S3Backend.create_multipart_upload, "key_name", 1
        )
        S3Backend.copy_object = _with_s3_key_check(  # type: ignore[method-assign]
            S3Backend.copy_object, "dest_key_name", 2
        )
        S3Response.put_object = _one_step(S3_ONE_STEP_LOCK, S3Response.put_object)  # type: ignore[method-assign]
        S3Response.delete_object = _one_step(S3_ONE_STEP_LOCK, S3Response.delete_object)  # type: ignore[method-assign]
        S3Backend.list_objects = _one_step(S3_ONE_STEP_LOCK, S3Backend.list_objects)  # type: ignore[method-assign]
        for name in ("receive_message", "send_message", "delete_message", "change_message_visibility"):
            setattr(SQSBackend, name, _one_step(SQS_ONE_STEP_LOCK, getattr(SQSBackend, name)))
        SQSQueue.wait_for_messages = _sqs_wait_lets_others_in(SQSQueue.wait_for_messages)  # type: ignore[method-assign]
        for name in ("run_task", "describe_tasks", "list_tasks", "stop_task"):
            setattr(
                EC2ContainerServiceBackend,
                name,
                _one_step(ECS_ONE_STEP_LOCK, getattr(EC2ContainerServiceBackend, name)),
            )
        parsing.generate_resource_name = _bounded_generated_names(parsing.generate_resource_name)
        ServiceQuotasBackend.get_service_quota = _fargate_quotas(  # type: ignore[method-assign]
            ServiceQuotasBackend.get_service_quota, applied=True
        )
        ServiceQuotasBackend.get_aws_default_service_quota = _fargate_quotas(  # type: ignore[attr-defined]
            _no_default_quota, applied=False
        )
        ServiceQuotasResponse.get_aws_default_service_quota = _get_aws_default_service_quota  # type: ignore[attr-defined]
        SQSBackend.is_message_valid_based_on_retention_period = _retention_check_reads_one_attribute  # type: ignore[method-assign]
        _INSTALLED = True
