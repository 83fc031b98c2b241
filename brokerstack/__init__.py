"""brokerstack."""
