"""The local stack: moto server, a GMS stand-in, an SQS poller and a local ECS agent, on one machine."""
