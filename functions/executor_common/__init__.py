"""Code shared by the dispatcher, the reconciler, the runner and the local stack.

Everything here is import-light (no boto3, no acryl-datahub) so that Lambda cold
starts stay fast and the runner image can install it unchanged.
"""
