"""The awsvpc network a Fargate task needs, made in moto: the one setup the local stack, tests and benchmarks use."""

from __future__ import annotations

import ipaddress
from typing import Any


def awsvpc_network(ec2: Any, cidr: str = "10.0.0.0/16", name: str = "runner") -> tuple[str, str]:
    """A subnet and a security group for awsvpc tasks, in a VPC with DNS hostnames on (moto's RunTask needs them)."""
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_cidr = str(next(ipaddress.ip_network(cidr).subnets(new_prefix=24)))
    region = ec2.meta.region_name
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=subnet_cidr, AvailabilityZone=f"{region}a")
    group_id = ec2.create_security_group(GroupName=name, Description=f"{name} tasks", VpcId=vpc_id)["GroupId"]
    return subnet["Subnet"]["SubnetId"], group_id
