"""What a first deploy into a real account needs, beyond what moto checks (issue 9 items 8-13, issue 11 item 11)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sam_template import as_list, if_branches, load_template, resource

SQS_MAXIMUM_MESSAGE_BYTES = 1_048_576  # SendMessage: "The maximum size is 1 MiB or 1,048,576 bytes"


def token_arn_pattern() -> re.Pattern[str]:
    return re.compile(load_template()["Parameters"]["ExistingDataHubAccessTokenSecretArn"]["AllowedPattern"])


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:datahub-token-AbC123",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/datahub/token-x1Y2z3",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:tok-abcdef",
        "",
    ],
)
def test_token_secret_arn_full_arn_with_six_character_suffix_is_accepted(arn: str) -> None:
    assert token_arn_pattern().fullmatch(arn)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:datahub-token",  # partial: no suffix
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:datahub-token-AbC123:token::",  # JSON key
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:datahub-token-AbC123::AWSCURRENT",  # version stage
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:tok-AbC12",  # five characters
        "datahub-token",
    ],
)
def test_token_secret_arn_that_ecs_and_iam_would_not_match_is_rejected(arn: str) -> None:
    assert not token_arn_pattern().fullmatch(arn)


@pytest.mark.parametrize("queue", ["CommandQueue", "CommandDeadLetterQueue"])
def test_command_queues_accept_sqs_maximum_message_size(template: dict[str, Any], queue: str) -> None:
    assert resource(template, queue)["Properties"]["MaximumMessageSize"] == SQS_MAXIMUM_MESSAGE_BYTES


def test_every_queue_denies_requests_without_tls(template: dict[str, Any]) -> None:
    queues = {name for name, body in template["Resources"].items() if body["Type"] == "AWS::SQS::Queue"}
    covered = set()
    for body in template["Resources"].values():
        if body["Type"] != "AWS::SQS::QueuePolicy":
            continue
        attached = {ref["Ref"] for ref in body["Properties"]["Queues"]}
        for statement in body["Properties"]["PolicyDocument"]["Statement"]:
            for branch in if_branches(statement):
                if branch["Effect"] == "Deny" and branch.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                    covered |= attached & {r["Fn::GetAtt"][0] for r in as_list(branch["Resource"])}

    assert covered == queues


def test_ecs_service_linked_role_is_created_only_on_request_and_before_the_cluster(template: dict[str, Any]) -> None:
    role = resource(template, "EcsServiceLinkedRole")
    cluster = resource(template, "RunnerCluster")

    assert role["Type"] == "AWS::IAM::ServiceLinkedRole"
    assert role["Properties"]["AWSServiceName"] == "ecs.amazonaws.com"
    assert role["Condition"] == "CreateEcsServiceLinkedRole"
    assert role["DeletionPolicy"] == "Retain"  # other clusters of the account may need it
    assert template["Conditions"]["CreateEcsServiceLinkedRole"] == {
        "Fn::Equals": [{"Ref": "CreateEcsServiceLinkedRole"}, "true"]
    }
    assert template["Parameters"]["CreateEcsServiceLinkedRole"]["Default"] == "false"
    assert cluster["Metadata"]["EcsServiceLinkedRole"] == {
        "Fn::If": ["CreateEcsServiceLinkedRole", {"Ref": "EcsServiceLinkedRole"}, ""]
    }


def test_lambdas_join_the_vpc_only_when_asked_defaulting_to_the_run_network(template: dict[str, Any]) -> None:
    vpc_config = template["Globals"]["Function"]["VpcConfig"]

    assert vpc_config == {
        "Fn::If": [
            "LambdasInVpc",
            {
                "SubnetIds": {"Fn::If": ["HasLambdaSubnetIds", {"Ref": "LambdaSubnetIds"}, {"Ref": "SubnetIds"}]},
                "SecurityGroupIds": {
                    "Fn::If": [
                        "HasLambdaSecurityGroupIds",
                        {"Ref": "LambdaSecurityGroupIds"},
                        {"Ref": "SecurityGroupIds"},
                    ]
                },
            },
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert template["Parameters"]["LambdasInVpc"]["Default"] == "false"
