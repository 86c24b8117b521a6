"""The profile screen: choose a profile and unlock it, or create one and keep its recovery key."""
