"""Create the stack from template.yaml through moto's CloudFormation, so local resources are never a second copy.

The SAM template is translated in-process with aws-sam-translator (what `sam deploy`'s
transform does server-side), with local `CodeUri`s pointed at a placeholder object in moto's
S3: moto never runs the functions (no Docker), the local stack drives the handlers itself.

What moto 5.2.5's CloudFormation does not do, and how it is bridged:
- `AWS::SecretsManager::Secret` is skipped silently: the GMS token secret is created first and
  passed as a parameter (the template's "existing secret" path).
- `AWS::CloudWatch::Alarm` is skipped silently: `support_alarms()` gives moto's CloudFormation a
  model for it, so each alarm exists in moto's CloudWatch (`DescribeAlarms`) with the properties
  moto resolved from the template (moto never evaluates an alarm: its state stays OK).
- A `CommaDelimitedList` parameter left at its default is not split: every list parameter is passed.
- Task definitions lose Cpu, NetworkMode, RequiresCompatibilities and the role ARNs: the agent
  only needs the container definitions, which survive.
- Functions are created but never invoked, and EventBridge targets are not delivered to
  Lambda: `stack.py` reads each function's handler and environment back from moto and calls it.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

CODE_BUCKET = "local-stack-code"
CODE_KEY = "placeholder.zip"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class StackCreationError(RuntimeError):
    """moto's CloudFormation did not reach CREATE_COMPLETE; the message says why."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short-form intrinsics (`!Ref`, `!Sub`, ...), without touching SafeLoader."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    from samtranslator.yaml_helper import intrinsics_multi_constructor

    return intrinsics_multi_constructor(loader, tag_suffix, node)


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """The template as a dict with intrinsics in their long form (`{"Ref": ...}`, `{"Fn::Sub": ...}`)."""
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


class _NoManagedPolicies:
    """Stands in for samtranslator's IAM-backed loader: AWS managed policy names resolve to their well-known ARNs."""

    def load(self) -> dict[str, str]:
        return _KnownPolicies()


class _KnownPolicies(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return f"arn:aws:iam::aws:policy/{name}"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def get(self, name: str, default: Any = None) -> str:
        return self[name]


def point_code_at(template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    """Replace local CodeUri/ContentUri paths (what `sam package` would upload) with the placeholder object."""
    location = f"s3://{bucket}/{key}"
    globals_function = template.get("Globals", {}).get("Function", {})
    if isinstance(globals_function.get("CodeUri"), str):
        globals_function["CodeUri"] = location
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function":
            code = props.get("CodeUri", globals_function.get("CodeUri"))
            if code is None or isinstance(code, str):
                props["CodeUri"] = location
            resource["Properties"] = props
        elif resource.get("Type") == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = location
    return template


def translate(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, Any]:
    """SAM -> plain CloudFormation, in-process, as `samtranslator.translator.transform.transform` does.

    Spelled out to hand the translator a region-bound boto3 session: the stock entry point
    insists on a region from the environment.
    """
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    values: dict[str, Any] = dict(parameters)
    to_py27_compatible_template(template, values)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    translated = translator.translate(
        template, parameter_values=values, get_managed_policy_map=_NoManagedPolicies().load
    )
    return undo_mark_unicode_str_in_template(translated)


def _put_alarm(name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
    """PutMetricAlarm in moto's backend with the resource's resolved properties (names as in CloudFormation)."""
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account_id][region].put_metric_alarm(
        name=props.get("AlarmName") or name,
        namespace=props.get("Namespace", ""),
        metric_name=props.get("MetricName", ""),
        comparison_operator=props["ComparisonOperator"],
        evaluation_periods=int(props["EvaluationPeriods"]),
        period=int(props.get("Period") or 60),
        threshold=float(props.get("Threshold") or 0),
        statistic=props.get("Statistic", ""),
        extended_statistic=props.get("ExtendedStatistic"),
        description=props.get("AlarmDescription", ""),
        dimensions=list(props.get("Dimensions") or []),
        alarm_actions=list(props.get("AlarmActions") or []),
        ok_actions=list(props.get("OKActions") or []),
        insufficient_data_actions=list(props.get("InsufficientDataActions") or []),
        datapoints_to_alarm=int(props["DatapointsToAlarm"]) if "DatapointsToAlarm" in props else None,
        unit=props.get("Unit"),
        actions_enabled=str(props.get("ActionsEnabled", "true")).lower() == "true",
        treat_missing_data=props.get("TreatMissingData"),
    )


_ALARMS_SUPPORTED = False


def support_alarms() -> None:
    """Teach moto's CloudFormation `AWS::CloudWatch::Alarm` (it skips the type): idempotent, process-wide.

    moto finds resource models among `CloudFormationModel`'s subclasses (cached), so defining one and
    clearing that cache is enough; the properties arrive with moto's intrinsics (`!Sub`, `!If`, `!GetAtt`)
    already resolved.
    """
    global _ALARMS_SUPPORTED
    if _ALARMS_SUPPORTED:
        return
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

    class LocalAlarm(CloudFormationModel):
        def __init__(self, alarm: Any) -> None:
            self.alarm = alarm

        @property
        def physical_resource_id(self) -> str:
            return str(self.alarm.name)

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return str(self.alarm.alarm_arn)

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **_: Any
        ) -> LocalAlarm:
            props = cloudformation_json.get("Properties") or {}
            return cls(_put_alarm(resource_name, props, account_id, region_name))

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
        ) -> None:
            from moto.cloudwatch.models import cloudwatch_backends

            cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

        def is_created(self) -> bool:
            return True

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    _ALARMS_SUPPORTED = True


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Placeholder: the local stack runs the handlers in-process.\n")
    return buffer.getvalue()


def _quiet_moto_cfn_warnings() -> None:
    """moto warns for every resource type it skips (QueuePolicy, BucketPolicy): known, see the module doc."""
    import warnings

    warnings.filterwarnings("ignore", message="Tried to parse .* but it's not supported", category=UserWarning)
    logging.getLogger("moto").setLevel(logging.ERROR)
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # "unpublished metrics": its own, not ours


@dataclass
class DeployedStack:
    """What moto's CloudFormation created: outputs, physical ids by logical id, and the translated template."""

    name: str
    outputs: dict[str, str]
    resources: dict[str, dict[str, str]]
    template: dict[str, Any] = field(repr=False)

    def physical_id(self, logical_id: str) -> str:
        return self.resources[logical_id]["PhysicalResourceId"]

    def logical_ids_of_type(self, resource_type: str) -> list[str]:
        return sorted(k for k, v in self.resources.items() if v["ResourceType"] == resource_type)

    def function_log_groups(self) -> dict[str, str]:
        """Function logical id -> the log group its `LoggingConfig` names (moto's Lambda does not keep it)."""
        groups: dict[str, str] = {}
        for logical_id, resource in self.template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::Lambda::Function" or logical_id not in self.resources:
                continue
            group = ((resource.get("Properties") or {}).get("LoggingConfig") or {}).get("LogGroup")
            if isinstance(group, dict) and group.get("Ref") in self.resources:
                groups[logical_id] = self.physical_id(group["Ref"])
            elif isinstance(group, str):
                groups[logical_id] = group
        return groups

    def event_source_queues(self) -> dict[str, str]:
        """Function logical id -> logical id of the SQS queue its event-source mapping reads (from the template)."""
        mapping: dict[str, str] = {}
        for resource in self.template.get("Resources", {}).values():
            if resource.get("Type") != "AWS::Lambda::EventSourceMapping":
                continue
            props = resource.get("Properties", {})
            function_ref = props.get("FunctionName", {})
            source = props.get("EventSourceArn", {})
            if isinstance(function_ref, dict) and isinstance(source, dict) and "Fn::GetAtt" in source:
                mapping[str(function_ref.get("Ref"))] = str(source["Fn::GetAtt"][0])
        return mapping

    def event_source_mapping_properties(self, function_logical_id: str) -> dict[str, Any]:
        for resource in self.template.get("Resources", {}).values():
            props = resource.get("Properties", {})
            if resource.get("Type") == "AWS::Lambda::EventSourceMapping" and props.get("FunctionName") == {
                "Ref": function_logical_id
            }:
                return dict(props)
        return {}


def deploy(
    aws: Any,
    template_path: Path,
    parameters: dict[str, str],
    stack_name: str = "datahub-executor-local",
) -> DeployedStack:
    """Translate template.yaml and create it in moto; returns what was created. `aws` is a `LocalAws`."""
    template = load_template(template_path)
    declared = template.get("Parameters", {})
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        logger.warning("Ignoring parameters the template does not declare: %s", ", ".join(unknown))
    values = {k: v for k, v in parameters.items() if k in declared}

    s3 = aws.client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=_placeholder_zip())
    translated = translate(point_code_at(template, CODE_BUCKET, CODE_KEY), values, aws.region)

    cloudformation = aws.client("cloudformation")
    _quiet_moto_cfn_warnings()
    support_alarms()
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(translated),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        Capabilities=CAPABILITIES,
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise StackCreationError(f"{stack_name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    resources: dict[str, dict[str, str]] = {}
    paginator = cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            resources[summary["LogicalResourceId"]] = {
                "PhysicalResourceId": summary.get("PhysicalResourceId", ""),
                "ResourceType": summary["ResourceType"],
            }
    return DeployedStack(name=stack_name, outputs=outputs, resources=resources, template=translated)
