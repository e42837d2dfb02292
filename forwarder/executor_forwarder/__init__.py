"""datahub-actions plugin forwarding execution requests from open-source DataHub to the command queue."""
