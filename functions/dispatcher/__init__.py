"""The SQS-triggered dispatcher Lambda: validate each execution request and launch or cancel its ECS task."""
