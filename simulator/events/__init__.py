"""ION events: the AsyncAPI contract, events from M3 changes, subscriptions and delivery."""
