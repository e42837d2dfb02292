"""The template's IAM as a real account would apply it (issue 9, "tests that enforce the real rules").

The stack is created from template.yaml in moto's CloudFormation, so every Ref, Sub, If and
Split is resolved as the service resolves it; the resolved role policies are then
- linted offline with parliament (Duo Labs' IAM linter, with its own copy of the IAM
  service reference: unknown actions, resource formats an action cannot match, condition
  keys of the wrong type, `*` where a resource type exists), every finding either fixed or
  listed in ACCEPTED_FINDINGS with the reason; and
- evaluated (iam_simulation.py) for each call the product makes: what it needs is allowed, and
  a secret outside the prefix, a foreign task-definition family, another cluster, another role,
  another bucket key are denied.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from dispatcher.task_definitions import derived_family
from iam_simulation import Decision, Request, evaluate, policy_document
from moto import mock_aws
from test_template_moto import REGION, create_stack

with warnings.catch_warnings():  # parliament 1.6.4 imports pkg_resources (setuptools<81 is pinned for it)
    warnings.simplefilter("ignore", UserWarning)
    from parliament import analyze_policy_string

# moto creates the stack without these types (and says so); the real service creates them.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning")

ACCOUNT = "123456789012"
STACK = "dh-iam"
TOKEN_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
SECRETS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222"
CONFIGURED_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:sf-AbCdEf"
CROSS_ACCOUNT_SECRET = "arn:aws:secretsmanager:eu-west-1:210987654321:secret:looker-XyZ123"
#: A source lease id (sha256 hex of an ingestion source URN).
LEASE = "0" * 64
SECRET_ARNS = f"SF_PASSWORD={CONFIGURED_SECRET},LOOKER_TOKEN={CROSS_ACCOUNT_SECRET}"
VIA_SECRETS_MANAGER = f"secretsmanager.{REGION}.amazonaws.com"

ROLES = {
    "dispatcher": "DispatcherFunctionRole",
    "reconciler": "ReconcilerFunctionRole",
    "backstop": "BackstopFunctionRole",
    "execution": "RunnerExecutionRole",
    "task": "RunnerTaskRole",
}

#: parliament findings that stay, each with why. Key: (role, finding issue, the actions it names).
ACCEPTED_FINDINGS = {
    ("dispatcher", "RESOURCE_STAR", ("ecs:ListTasks",)): (
        "ListTasks' only resource type is a container instance, which Fargate tasks do not have; "
        "ECS documents Resource * with an ecs:cluster condition, which the statement carries."
    ),
    ("backstop", "RESOURCE_STAR", ("ecs:ListTasks",)): "As for the dispatcher.",
    ("execution", "MISMATCHED_TYPE", ()): (
        "secretsmanager:SecretId is ARN-typed; the StringEquals list also holds the NAMEs of "
        "SecretArns (CloudFormation cannot drop them from NAME=ARN pairs). The ArnLike on a full "
        "secret ARN in the same statement is ANDed with it, so a NAME never grants anything; the "
        "simulation below proves it."
    ),
    ("execution", "MISMATCHED_TYPE_BUT_USABLE", ()): "The same StringEquals on an ARN-typed key: exact match intended.",
}


@pytest.fixture(scope="module")
def deployed() -> Iterator[dict[str, Any]]:
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        created = create_stack(
            session,
            STACK,
            {
                "SecretArns": SECRET_ARNS,
                "RunEnvVars": "",
                "DataHubTokenKmsKeyArn": TOKEN_KEY,
                "SecretsKmsKeyArn": SECRETS_KEY,
                "SmallRunnerImage": "local/datahub-executor-runner:dev-small",
            },
        )
        iam = session.client("iam")
        resources = session.client("cloudformation").list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        role_names = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
        policies = {}
        for role, logical_id in ROLES.items():
            name = role_names[logical_id]
            policies[role] = [
                policy_document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
                for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
            ]
        arns = {role: iam.get_role(RoleName=role_names[lid])["Role"]["Arn"] for role, lid in ROLES.items()}
        yield created | {"policies": policies, "role_arns": arns}


def parliament_findings(policies: Mapping[str, list[Mapping[str, Any]]]) -> dict[tuple[str, str, tuple[str, ...]], str]:
    findings = {}
    for role, documents in policies.items():
        for document in documents:
            for finding in analyze_policy_string(json.dumps(document)).findings:
                detail = finding.detail if isinstance(finding.detail, list) else []
                actions = tuple(sorted({d["action"] if isinstance(d, dict) else d for d in detail if d}))
                if finding.issue.startswith("MISMATCHED_TYPE"):
                    actions = ()  # the detail is a sentence naming the values, not actions
                findings[(role, finding.issue, actions)] = str(finding)
    return findings


def test_template_iam_policies_pass_the_offline_linter_or_are_explained(deployed: dict[str, Any]) -> None:
    findings = parliament_findings(deployed["policies"])

    assert {key: text for key, text in findings.items() if key not in ACCEPTED_FINDINGS} == {}
    assert set(ACCEPTED_FINDINGS) - set(findings) == set()  # an explanation for a fixed finding goes too


def test_template_iam_linter_sees_every_role_of_the_stack(deployed: dict[str, Any]) -> None:
    assert {role: len(documents) for role, documents in deployed["policies"].items()} == {
        "dispatcher": 1,
        "reconciler": 1,
        "backstop": 1,
        "execution": 2,
        "task": 2,  # run folders, and the run-state events (issue 15)
    }


def ecs(kind: str, name: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:{kind}/{name}"


def read_secret(arn: str, secret_id: str | None = None) -> Request:
    """GetSecretValue as IAM sees it: the secret's ARN, and the SecretId the caller passed."""
    return Request("secretsmanager:GetSecretValue", arn, {"secretsmanager:SecretId": secret_id or arn})


def calls(deployed: dict[str, Any]) -> list[tuple[str, Request, Decision, str]]:
    """(role, request, expected decision, why) for each call the product makes, and its near misses."""
    outputs, roles = deployed["outputs"], deployed["role_arns"]
    cluster_name = outputs["RunnerClusterName"]
    cluster = {"ecs:cluster": ecs("cluster", cluster_name)}
    other_cluster = {"ecs:cluster": ecs("cluster", "someone-elses")}
    task = ecs("task", f"{cluster_name}/0123456789abcdef0123456789abcdef")
    base, small = f"{STACK}-runner", f"{STACK}-runner-small"
    # the names the dispatcher derives (dispatcher/task_definitions.py), from each base
    pg_secret = {"PG_PASSWORD": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:datahub-executor/PG-AbC123"}
    derived = derived_family(ecs("task-definition", f"{base}:3"), pg_secret)
    small_derived = derived_family(ecs("task-definition", f"{small}:3"), pg_secret)
    token = deployed["token_arn"]
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
    prefixed, outside = f"{secret}datahub-executor/PG_PASSWORD-AbC123", f"{secret}prod/db-master-AbC123"
    named_like_a_name = f"{secret}SF_PASSWORD-Zz9Yy8"
    bucket = f"arn:aws:s3:::{outputs['RunBucketName']}"
    run_folder = f"{bucket}/runs/urn-li-x"
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:"
    log_stream = f"{log_group}{outputs['RunnerLogGroupName']}:log-stream:runs/runner/0123abcd"
    other_log_stream = f"{log_group}/aws/lambda/other:log-stream:x"
    to_ecs = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    via_sm = {"kms:ViaService": VIA_SECRETS_MANAGER}
    token_decrypt = via_sm | {"kms:EncryptionContext:SecretARN": token}
    other_decrypt = via_sm | {"kms:EncryptionContext:SecretARN": outside}
    allow, deny = Decision.ALLOWED, Decision.IMPLICIT_DENY
    register = {"ecs:CreateAction": "RegisterTaskDefinition"}
    return [
        # dispatcher: launch, derive task definitions, cancel, read the token, write run specs
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", f"{base}:3"), cluster), allow, "base family"),
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", f"{derived}:1"), cluster), allow, "derived"),
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", "other-app:1"), cluster), deny, "foreign"),
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", f"{base}:3"), other_cluster), deny, "cluster"),
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", f"{small}:1"), cluster), allow, "small image"),
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", f"{small_derived}:1"), cluster), allow, "its"),
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", f"{small}:1"), other_cluster), deny, "cluster"),
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", f"{base}-x:1"), cluster), deny, "not derived"),
        ("dispatcher", Request("ecs:RunTask", ecs("task-definition", f"{derived}0:1"), cluster), deny, "13 digits"),
        ("dispatcher", Request("ecs:RegisterTaskDefinition", ecs("task-definition", derived)), allow, "derived"),
        ("dispatcher", Request("ecs:RegisterTaskDefinition", ecs("task-definition", f"{derived}:2")), allow, "rev"),
        ("dispatcher", Request("ecs:RegisterTaskDefinition", ecs("task-definition", "other-app")), deny, "foreign"),
        ("dispatcher", Request("ecs:RegisterTaskDefinition", ecs("task-definition", base)), deny, "the stack's"),
        ("dispatcher", Request("ecs:RegisterTaskDefinition", ecs("task-definition", small)), deny, "the stack's"),
        ("dispatcher", Request("ecs:RegisterTaskDefinition", ecs("task-definition", f"{small}:2")), deny, "rev"),
        ("dispatcher", Request("ecs:RegisterTaskDefinition", ecs("task-definition", small_derived)), allow, "small"),
        ("dispatcher", Request("ecs:RegisterTaskDefinition", ecs("task-definition", f"{small_derived}:2")), allow, "r"),
        (
            "dispatcher",
            Request("ecs:TagResource", ecs("task-definition", f"{small_derived}:1"), register),
            allow,
            "tags on register",
        ),
        ("dispatcher", Request("ecs:TagResource", ecs("task-definition", f"{base}:1"), register), deny, "a base"),
        ("dispatcher", Request("ecs:DescribeTaskDefinition", "*"), allow, "no resource-level permissions"),
        ("dispatcher", Request("ecs:TagResource", task, {"ecs:CreateAction": "RunTask"}), allow, "tags on launch"),
        ("dispatcher", Request("ecs:TagResource", task), deny, "no tagging after the fact"),
        ("dispatcher", Request("ecs:ListTasks", "*", cluster), allow, "find a run to cancel"),
        ("dispatcher", Request("ecs:ListTasks", "*", other_cluster), deny, "other cluster"),
        ("dispatcher", Request("ecs:StopTask", task, cluster), allow, "cancel"),
        ("dispatcher", Request("ecs:DescribeTasks", task, cluster), allow, "launch result"),
        ("dispatcher", Request("iam:PassRole", roles["execution"], to_ecs), allow, "execution role"),
        ("dispatcher", Request("iam:PassRole", roles["task"], to_ecs), allow, "task role"),
        ("dispatcher", Request("iam:PassRole", roles["dispatcher"], to_ecs), deny, "its own role"),
        ("dispatcher", Request("iam:PassRole", roles["task"], {"iam:PassedToService": "lambda"}), deny, "service"),
        # ListSecrets has no resource-level permissions: it lists names and ARNs, never values.
        ("dispatcher", Request("secretsmanager:ListSecrets", "*"), allow, "referenced secrets found in one listing"),
        ("dispatcher", Request("secretsmanager:DescribeSecret", outside), deny, "no per-secret lookups"),
        ("dispatcher", read_secret(token), allow, "the GMS token"),
        ("dispatcher", read_secret(prefixed), deny, "never a recipe secret's value"),
        ("dispatcher", Request("kms:Decrypt", TOKEN_KEY, token_decrypt), allow, "CMK-encrypted token"),
        ("dispatcher", Request("kms:Decrypt", TOKEN_KEY, {"kms:EncryptionContext:SecretARN": token}), deny, "direct"),
        ("dispatcher", Request("kms:Decrypt", TOKEN_KEY, other_decrypt), deny, "another secret under the key"),
        ("dispatcher", Request("s3:PutObject", f"{run_folder}/spec.json"), allow, "run spec"),
        ("dispatcher", Request("s3:PutObject", f"arn:aws:s3:::{outputs['RunBucketName']}/other"), deny, "not runs/"),
        ("dispatcher", Request("s3:PutObject", f"{bucket}/waiting/0001764140000000/ab12/run-1"), allow, "a place"),
        ("dispatcher", Request("s3:DeleteObject", f"{bucket}/waiting/0001764140000000/ab12/run-1"), allow, "leave"),
        ("dispatcher", Request("s3:DeleteObject", f"{run_folder}/spec.json"), deny, "never a run folder"),
        ("dispatcher", Request("s3:ListBucket", bucket, {"s3:prefix": "waiting/"}), allow, "read the line"),
        ("dispatcher", Request("s3:ListBucket", bucket, {"s3:prefix": "runs/"}), deny, "not the run folders"),
        # run slots (MaxConcurrentRuns): the dispatcher claims and frees, the reconciler and backstop free
        ("dispatcher", Request("s3:PutObject", f"{bucket}/slots/3"), allow, "claim a run slot"),
        ("dispatcher", Request("s3:ListBucket", bucket, {"s3:prefix": "slots/"}), allow, "see which slots are taken"),
        ("dispatcher", Request("s3:DeleteObject", f"{bucket}/slots/3"), allow, "free a slot RunTask did not use"),
        ("dispatcher", Request("s3:GetObject", f"{bucket}/slots/3"), allow, "which run holds a slot"),
        ("reconciler", Request("s3:GetObject", f"{bucket}/slots/3"), allow, "read the slot's claim"),
        ("reconciler", Request("s3:DeleteObject", f"{bucket}/slots/3"), allow, "free the stopped run's slot"),
        ("reconciler", Request("s3:PutObject", f"{bucket}/slots/3"), deny, "never claims"),
        ("reconciler", Request("s3:DeleteObject", f"{run_folder}/spec.json"), deny, "nothing else in the bucket"),
        ("backstop", Request("s3:ListBucket", bucket, {"s3:prefix": "slots/"}), allow, "list the slots"),
        ("backstop", Request("s3:ListBucket", bucket, {"s3:prefix": "runs/"}), deny, "not the run folders"),
        ("backstop", Request("s3:DeleteObject", f"{bucket}/slots/3"), allow, "free a stale slot"),
        ("backstop", Request("s3:PutObject", f"{bucket}/slots/3"), deny, "never claims"),
        # the vCPU ledger (MaxConcurrentVcpus): one key, read and rewritten (If-Match) by each of the three
        ("dispatcher", Request("s3:GetObject", f"{bucket}/vcpus/ledger"), allow, "read the vCPU ledger"),
        ("dispatcher", Request("s3:PutObject", f"{bucket}/vcpus/ledger"), allow, "add a run's vCPUs"),
        ("dispatcher", Request("s3:PutObject", f"{bucket}/vcpus/other"), deny, "only the ledger's key"),
        ("dispatcher", Request("s3:DeleteObject", f"{bucket}/vcpus/ledger"), deny, "emptied, never deleted"),
        ("reconciler", Request("s3:GetObject", f"{bucket}/vcpus/ledger"), allow, "read the ledger"),
        ("reconciler", Request("s3:PutObject", f"{bucket}/vcpus/ledger"), allow, "free the stopped run's vCPUs"),
        ("backstop", Request("s3:ListBucket", bucket, {"s3:prefix": "vcpus/ledger"}), allow, "is there a ledger"),
        ("backstop", Request("s3:GetObject", f"{bucket}/vcpus/ledger"), allow, "read the ledger"),
        ("backstop", Request("s3:PutObject", f"{bucket}/vcpus/ledger"), allow, "free stale entries"),
        # the default MaxConcurrentVcpus=quota: GetServiceQuota has no resource-level permissions
        ("dispatcher", Request("servicequotas:GetServiceQuota", "*"), allow, "the account's Fargate vCPU quota"),
        ("reconciler", Request("servicequotas:GetServiceQuota", "*"), deny, "only the dispatcher reads it"),
        ("backstop", Request("servicequotas:GetServiceQuota", "*"), deny, "only the dispatcher reads it"),
        # its default value, read when the quota was never adjusted (no applied value)
        ("dispatcher", Request("servicequotas:GetAWSDefaultServiceQuota", "*"), allow, "the quota's default"),
        ("reconciler", Request("servicequotas:GetAWSDefaultServiceQuota", "*"), deny, "only the dispatcher reads it"),
        # source leases (overlap skip/queue/replace): the dispatcher claims, takes over and frees; the others free
        ("dispatcher", Request("s3:PutObject", f"{bucket}/sources/{LEASE}"), allow, "claim or take over a lease"),
        ("dispatcher", Request("s3:GetObject", f"{bucket}/sources/{LEASE}"), allow, "which run holds the source"),
        ("dispatcher", Request("s3:DeleteObject", f"{bucket}/sources/{LEASE}"), allow, "free a stale or unused one"),
        ("dispatcher", Request("s3:GetObject", f"{run_folder}/spec.json"), deny, "not the run folders"),
        ("reconciler", Request("s3:GetObject", f"{bucket}/sources/{LEASE}"), allow, "read the lease"),
        ("reconciler", Request("s3:DeleteObject", f"{bucket}/sources/{LEASE}"), allow, "free the stopped run's lease"),
        ("reconciler", Request("s3:PutObject", f"{bucket}/sources/{LEASE}"), deny, "never claims"),
        ("backstop", Request("s3:ListBucket", bucket, {"s3:prefix": "sources/"}), allow, "list the leases"),
        ("backstop", Request("s3:GetObject", f"{bucket}/sources/{LEASE}"), allow, "read a lease"),
        ("backstop", Request("s3:DeleteObject", f"{bucket}/sources/{LEASE}"), allow, "free a stale lease"),
        ("backstop", Request("s3:PutObject", f"{bucket}/sources/{LEASE}"), deny, "never claims"),
        # reconciler: the log tail and the token, nothing in ECS
        ("reconciler", Request("logs:GetLogEvents", log_stream), allow, "log tail"),
        ("reconciler", Request("logs:GetLogEvents", other_log_stream), deny, "another log group"),
        ("reconciler", read_secret(token), allow, "the GMS token"),
        ("reconciler", Request("kms:Decrypt", TOKEN_KEY, token_decrypt), allow, "CMK-encrypted token"),
        ("reconciler", Request("ecs:StopTask", task, cluster), deny, "the reconciler makes no ECS call"),
        # backstop: find and stop overdue tasks, never the token
        ("backstop", Request("ecs:ListTasks", "*", cluster), allow, "find overdue runs"),
        ("backstop", Request("ecs:DescribeTasks", task, cluster), allow, "their start times"),
        ("backstop", Request("ecs:StopTask", task, cluster), allow, "stop them"),
        ("backstop", Request("ecs:StopTask", ecs("task", "other/0123"), other_cluster), deny, "other cluster"),
        ("backstop", read_secret(token), deny, "no token"),
        # execution role: what ECS does to start a run
        ("execution", Request("ecr:GetAuthorizationToken", "*"), allow, "registry login"),
        ("execution", Request("ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/runner"), allow, "pull"),
        ("execution", Request("logs:CreateLogStream", log_stream), allow, "awslogs"),
        ("execution", Request("logs:PutLogEvents", log_stream), allow, "awslogs"),
        ("execution", Request("logs:PutLogEvents", other_log_stream), deny, "another log group"),
        ("execution", read_secret(token), allow, "token"),
        ("execution", read_secret(prefixed), allow, "prefix"),
        ("execution", read_secret(outside), deny, "outside the prefix"),
        ("execution", read_secret(CONFIGURED_SECRET), allow, "SecretArns"),
        ("execution", read_secret(CROSS_ACCOUNT_SECRET), allow, "SecretArns, other account"),
        ("execution", read_secret(named_like_a_name, "SF_PASSWORD"), deny, "a secret whose id is a NAME"),
        ("execution", Request("kms:Decrypt", SECRETS_KEY, via_sm), allow, "CMK recipe secrets"),
        ("execution", Request("kms:Decrypt", SECRETS_KEY), deny, "not through Secrets Manager"),
        ("execution", Request("kms:Decrypt", TOKEN_KEY, token_decrypt), allow, "CMK-encrypted token"),
        # task role: the run's own identity
        ("task", Request("s3:GetObject", f"{run_folder}/spec.json"), allow, "run spec"),
        ("task", Request("s3:PutObject", f"{run_folder}/report.json"), allow, "report"),
        ("task", Request("s3:GetObject", f"arn:aws:s3:::{outputs['RunBucketName']}/secrets.txt"), deny, "not runs/"),
        ("task", read_secret(prefixed), deny, "secrets come from ECS, not the run"),
    ]


def test_template_iam_simulation_allows_what_the_product_needs_and_denies_the_rest(deployed: dict[str, Any]) -> None:
    wrong = [
        (role, request.action, request.resource, why, str(evaluate(deployed["policies"][role], request)))
        for role, request, expected, why in calls(deployed)
        if evaluate(deployed["policies"][role], request) != expected
    ]

    assert wrong == []


def test_iam_simulation_explicit_deny_wins_and_a_missing_condition_key_fails() -> None:
    allow = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}
    deny_plain_http = {
        "Effect": "Deny",
        "Action": "sqs:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    conditioned = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"StringEquals": {"k": ""}},
    }
    documents = [{"Statement": [allow, deny_plain_http, conditioned]}]
    tls, plain = {"aws:SecureTransport": "true"}, {"aws:SecureTransport": "false"}

    assert evaluate(documents, Request("SQS:SendMessage", "q", tls)) == Decision.ALLOWED
    assert evaluate(documents, Request("sqs:SendMessage", "q", plain)) == Decision.EXPLICIT_DENY
    assert evaluate(documents, Request("s3:GetObject", "o")) == Decision.IMPLICIT_DENY


def test_iam_simulation_arn_wildcards_stay_within_one_arn_part() -> None:
    statement = {
        "Effect": "Allow",
        "Action": "a:b",
        "Resource": "*",
        "Condition": {"ArnLike": {"k": "arn:aws:secretsmanager:*:*:secret:*-??????"}},
    }

    assert evaluate([{"Statement": [statement]}], Request("a:b", "r", {"k": CONFIGURED_SECRET})) == Decision.ALLOWED
    assert evaluate([{"Statement": [statement]}], Request("a:b", "r", {"k": "SF_PASSWORD"})) == Decision.IMPLICIT_DENY
    numeric = statement | {"Condition": {"NumericEquals": {"k": "1"}}}
    with pytest.raises(NotImplementedError):
        evaluate([{"Statement": [numeric]}], Request("a:b", "r", {"k": "1"}))
