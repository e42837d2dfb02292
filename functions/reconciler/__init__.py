"""The reconciler Lambda: no run stays RUNNING after its ECS task is gone.

It reads STOPPED task events (EventBridge -> its SQS buffer) and may touch: DataHub GMS (read and write
the result aspect, with the token secret), CloudWatch Logs (the run's last lines) and its own queue
(SendMessage, to look again after the report grace). It makes no ECS call; the backstop stops tasks.
"""
