"""Command-line interface: the only layer (with web) that reads the environment and configuration."""
