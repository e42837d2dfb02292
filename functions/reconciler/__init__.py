"""The reconciler Lambda: no run stays RUNNING after its ECS task is gone."""
