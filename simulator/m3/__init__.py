"""Stateful M3: MI program definitions, tenant state, the engine and the wire formats."""
