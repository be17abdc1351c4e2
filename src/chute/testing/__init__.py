"""Tools for testing and benchmarking chute against real services."""
