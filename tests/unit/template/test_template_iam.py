"""Least privilege, read from every inline IAM statement of every role and function in template.yaml."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sam_template import as_list, if_branches, policy_statements, resource

# Actions whose IAM resource type is "*" only (no resource-level permissions exist for them).
STAR_ONLY_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "secretsmanager:ListSecrets",
    "servicequotas:GetServiceQuota",  # the default MaxConcurrentVcpus=quota (dispatcher/vcpu_limit.py)
    "servicequotas:GetAWSDefaultServiceQuota",  # its default value, when it has no applied value
}
RUNNER_LOG_STREAMS = {
    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${RunnerLogGroup}:log-stream:*"
}
CLUSTER_SCOPED_ACTIONS = {"ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks", "ecs:ListTasks"}
CLUSTER_CONDITION = {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["RunnerCluster", "Arn"]}}}


def statements_granting(template: dict[str, Any], logical_id: str, action: str) -> list[dict[str, Any]]:
    return [
        statement
        for owner, statement in policy_statements(template)
        if owner == logical_id and statement["Effect"] == "Allow" and action in as_list(statement["Action"])
    ]


def all_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    statements = list(policy_statements(template))
    assert len(statements) > 15  # the walk found the policies
    return statements


def test_no_statement_grants_a_wildcard_action(template: dict[str, Any]) -> None:
    wildcards = [
        (owner, action)
        for owner, statement in all_statements(template)
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        if "*" in action
    ]

    assert wildcards == []


def test_star_resource_only_for_actions_without_resource_level_permissions_or_with_cluster_condition(
    template: dict[str, Any],
) -> None:
    offenders = [
        (owner, statement.get("Sid"))
        for owner, statement in all_statements(template)
        if statement["Effect"] == "Allow"
        and "*" in as_list(statement["Resource"])
        and not set(as_list(statement["Action"])) <= STAR_ONLY_ACTIONS
        and statement.get("Condition") != CLUSTER_CONDITION
    ]

    assert offenders == []


def test_every_ecs_task_action_is_conditioned_on_the_runner_cluster(template: dict[str, Any]) -> None:
    unconditioned = [
        (owner, action)
        for owner, statement in all_statements(template)
        for action in as_list(statement["Action"])
        if action in CLUSTER_SCOPED_ACTIONS and statement.get("Condition") != CLUSTER_CONDITION
    ]

    assert unconditioned == []


def test_dispatcher_runs_only_the_runner_families_and_their_derived_families(template: dict[str, Any]) -> None:
    (statement,) = statements_granting(template, "DispatcherFunction", "ecs:RunTask")

    assert [r["Fn::Sub"].rsplit("/", 1)[1] for r in statement["Resource"]] == [
        "${AWS::StackName}-runner:*",
        "${AWS::StackName}-runner-s????????????:*",
        "${AWS::StackName}-runner-small:*",
        "${AWS::StackName}-runner-small-s????????????:*",
    ]
    assert resource(template, "RunnerTaskDefinition")["Properties"]["Family"] == {"Fn::Sub": "${AWS::StackName}-runner"}
    small = resource(template, "SmallRunnerTaskDefinition")
    assert small["Properties"]["Family"] == {"Fn::Sub": "${AWS::StackName}-runner-small"}


def test_small_runner_task_definition_is_the_runner_one_with_the_small_image_only(template: dict[str, Any]) -> None:
    # GIVEN the two base task definitions WHEN the family and the image are set aside THEN nothing else differs:
    # a run on the small image gets the same roles, logs, sizes, environment and token secret.
    full, small = resource(template, "RunnerTaskDefinition"), resource(template, "SmallRunnerTaskDefinition")
    full_props, small_props = json.loads(json.dumps(full["Properties"])), json.loads(json.dumps(small["Properties"]))
    images = [props["ContainerDefinitions"][0].pop("Image") for props in (full_props, small_props)]
    del full_props["Family"], small_props["Family"]

    assert images == [{"Ref": "RunnerImage"}, {"Ref": "SmallRunnerImage"}]
    assert small_props == full_props
    assert small["Condition"] == "HasSmallRunnerImage" and "Condition" not in full


def test_dispatcher_tags_only_what_it_creates(template: dict[str, Any]) -> None:
    (statement,) = statements_granting(template, "DispatcherFunction", "ecs:TagResource")

    assert statement["Condition"] == {"StringEquals": {"ecs:CreateAction": ["RunTask", "RegisterTaskDefinition"]}}


def test_dispatcher_passes_only_the_runner_roles_to_ecs_tasks(template: dict[str, Any]) -> None:
    (statement,) = statements_granting(template, "DispatcherFunction", "iam:PassRole")

    assert statement["Resource"] == [
        {"Fn::GetAtt": ["RunnerExecutionRole", "Arn"]},
        {"Fn::GetAtt": ["RunnerTaskRole", "Arn"]},
    ]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_dispatcher_finds_secrets_by_listing_and_never_reads_a_run_secret(template: dict[str, Any]) -> None:
    # ListSecrets has no resource-level permissions; what matters is that no run secret's value is readable
    (statement,) = statements_granting(template, "DispatcherFunction", "secretsmanager:ListSecrets")
    assert statement["Resource"] == "*"
    assert statements_granting(template, "DispatcherFunction", "secretsmanager:DescribeSecret") == []
    (token,) = statements_granting(template, "DispatcherFunction", "secretsmanager:GetSecretValue")
    assert "SecretNamePrefix" not in json.dumps(token["Resource"])


def test_dispatcher_writes_only_run_folders_the_waiting_line_leases_and_the_vcpu_ledger(
    template: dict[str, Any],
) -> None:
    writes = statements_granting(template, "DispatcherFunction", "s3:PutObject")
    deletes = statements_granting(template, "DispatcherFunction", "s3:DeleteObject")
    (lists,) = statements_granting(template, "DispatcherFunction", "s3:ListBucket")

    resources = [resource.get("Fn::Sub") for statement in writes for resource in as_list(statement["Resource"])]
    assert sorted(resources) == [
        "${RunBucket.Arn}/runs/*",
        "${RunBucket.Arn}/slots/*",  # run slots (executor_common/aws/slots.py)
        "${RunBucket.Arn}/sources/*",  # source leases (executor_common/aws/source_lease.py)
        "${RunBucket.Arn}/vcpus/ledger",  # the vCPU ledger (executor_common/aws/vcpu_ledger.py): one key
        "${RunBucket.Arn}/waiting/*",
    ]
    assert sorted(r["Fn::Sub"] for d in deletes for r in as_list(d["Resource"])) == [
        "${RunBucket.Arn}/slots/*",
        "${RunBucket.Arn}/sources/*",
        "${RunBucket.Arn}/waiting/*",
    ]
    assert lists["Condition"] == {"StringLike": {"s3:prefix": ["waiting/*", "slots/*"]}}


def test_backstop_never_reads_the_gms_token(template: dict[str, Any]) -> None:
    # The backstop only stops over-time tasks; the reconciler writes their status.
    assert statements_granting(template, "BackstopFunction", "secretsmanager:GetSecretValue") == []


def test_reconciler_makes_no_ecs_call(template: dict[str, Any]) -> None:
    # Everything it needs is in the STOPPED event itself; the log stream name comes from its settings.
    actions = {
        action
        for owner, statement in all_statements(template)
        if owner == "ReconcilerFunction"
        for action in as_list(statement["Action"])
    }
    assert not any(action.startswith("ecs:") for action in actions)


@pytest.mark.parametrize("function", ["DispatcherFunction", "ReconcilerFunction"])
def test_functions_read_only_the_gms_token_secret(template: dict[str, Any], function: str) -> None:
    (statement,) = statements_granting(template, function, "secretsmanager:GetSecretValue")

    assert list(if_branches(statement["Resource"])) == [
        {"Ref": "ExistingDataHubAccessTokenSecretArn"},
        {"Ref": "DataHubTokenSecret"},
    ]


def test_reconciler_reads_only_the_runner_log_group(template: dict[str, Any]) -> None:
    (statement,) = statements_granting(template, "ReconcilerFunction", "logs:GetLogEvents")

    assert statement["Action"] == "logs:GetLogEvents"
    assert statement["Resource"] == RUNNER_LOG_STREAMS


def test_runner_task_role_touches_only_run_folders_and_its_events(template: dict[str, Any]) -> None:
    statements = [s for owner, s in all_statements(template) if owner == "RunnerTaskRole"]

    run_folders, run_state = statements
    assert (sorted(run_folders["Action"]), run_folders["Resource"]) == (
        ["s3:GetObject", "s3:PutObject"],
        {"Fn::Sub": "${RunBucket.Arn}/runs/*"},
    )
    # Issue 15: the run-state event, on the default bus only, with the executor's source and detail-type only.
    assert run_state["Action"] == "events:PutEvents"
    assert run_state["Resource"]["Fn::Sub"].endswith(":event-bus/default")
    assert run_state["Condition"] == {
        "StringEquals": {"events:source": "datahub.executor", "events:detail-type": "Ingestion Run State Change"}
    }


def test_runner_execution_role_injects_token_prefixed_and_configured_secrets_only(template: dict[str, Any]) -> None:
    statements = statements_granting(template, "RunnerExecutionRole", "secretsmanager:GetSecretValue")
    token_and_prefix, configured = statements

    assert token_and_prefix["Resource"][1]["Fn::Sub"].endswith(":secret:${SecretNamePrefix}*")
    assert "Condition" not in token_and_prefix
    assert list(configured["Condition"]["StringEquals"]) == ["secretsmanager:SecretId"]
    assert configured["Condition"]["ArnLike"] == {
        "secretsmanager:SecretId": {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:*:*:secret:*-??????"}
    }


def test_runner_execution_role_writes_only_to_the_runner_log_group(template: dict[str, Any]) -> None:
    (statement,) = statements_granting(template, "RunnerExecutionRole", "logs:PutLogEvents")

    assert statement["Resource"] == RUNNER_LOG_STREAMS


@pytest.mark.parametrize("role", ["RunnerExecutionRole", "RunnerTaskRole"])
def test_runner_roles_trust_only_ecs_tasks_of_this_account(template: dict[str, Any], role: str) -> None:
    (trust,) = resource(template, role)["Properties"]["AssumeRolePolicyDocument"]["Statement"]

    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_token_parameter_is_used_only_to_create_the_token_secret(template: dict[str, Any]) -> None:
    users = [
        logical_id
        for logical_id, body in template["Resources"].items()
        if '{"Ref": "DataHubAccessToken"}' in json.dumps(body)
    ]

    assert users == ["DataHubTokenSecret"]
    assert '{"Ref": "DataHubAccessToken"}' not in json.dumps([template["Outputs"], template["Globals"]])


def test_dispatcher_reads_service_quotas_only_with_the_quota_default(template: dict[str, Any]) -> None:
    # The quota reads are granted under the VcpuLimitFromQuota condition only: a number (or 0) grants nothing.
    statements = template["Resources"]["DispatcherFunction"]["Properties"]["Policies"][0]["Statement"]
    (granting,) = [
        item["Fn::If"]
        for item in statements
        if "Fn::If" in item and "servicequotas:GetServiceQuota" in as_list(item["Fn::If"][1].get("Action"))
    ]
    assert sorted(as_list(granting[1]["Action"])) == [
        "servicequotas:GetAWSDefaultServiceQuota",
        "servicequotas:GetServiceQuota",
    ]
    assert granting[0] == "VcpuLimitFromQuota"
    assert granting[2] == {"Ref": "AWS::NoValue"}
    assert template["Conditions"]["VcpuLimitFromQuota"] == {"Fn::Equals": [{"Ref": "MaxConcurrentVcpus"}, "quota"]}
    assert template["Parameters"]["MaxConcurrentVcpus"]["Default"] == "quota"
