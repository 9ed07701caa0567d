"""The settings: one table for the action, the CLI and the relay.

spec.py: the kinds and how a raw value is parsed; table.py: every setting and the frozen Settings; s3.py: the S3
ones.
"""
