"""The backstop Lambda (EventBridge schedule): stops this executor's tasks that ran far past their timeout.

It may touch ECS only (list, describe, stop tasks of the runner cluster); it never reads the GMS token
or writes to DataHub: the reconciler reports the stopped run from the STOPPED event.
"""
