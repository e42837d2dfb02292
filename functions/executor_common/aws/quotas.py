"""The Service Quotas adapter: the account's Fargate vCPU quotas (the default of MaxConcurrentVcpus).

Service code `fargate`; `L-3032A538` "Fargate On-Demand vCPU resource count" bounds the vCPUs of the
account's on-demand Fargate tasks in the Region, `L-36FBB829` "Fargate Spot vCPU resource count" those
of its Spot tasks: a Spot task counts against the Spot quota only. GetServiceQuota has no resource-level
permission (IAM `Resource: "*"`).
"""

from __future__ import annotations

from typing import Any

from executor_common.aws import make_client
from executor_common.aws.classify import aws_call

FARGATE_SERVICE_CODE = "fargate"
ON_DEMAND_VCPU_QUOTA = "L-3032A538"
SPOT_VCPU_QUOTA = "L-36FBB829"


def make_quotas_client(region_name: str | None = None) -> Any:
    """Short timeouts, one attempt: a Lambda in a VPC with no `servicequotas` endpoint must not hang on it."""
    return make_client("service-quotas", region_name, read_timeout=5, connect_timeout=2, max_attempts=1)


class QuotasAdapter:
    def __init__(self, client: Any) -> None:
        self.client = client

    def fargate_vcpu_quota(self, *, spot: bool) -> float:
        """The quota's applied value; a classified project error when it cannot be read (denied, unreachable)."""
        code = SPOT_VCPU_QUOTA if spot else ON_DEMAND_VCPU_QUOTA
        with aws_call(f"Reading the account's Fargate vCPU quota {code} (GetServiceQuota)"):
            answer = self.client.get_service_quota(ServiceCode=FARGATE_SERVICE_CODE, QuotaCode=code)
        return float(answer["Quota"]["Value"])
