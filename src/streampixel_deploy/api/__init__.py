"""Streampixel's API as this project reads it.

client.py: the endpoints and every documented reading; models.py: builds, projects, statuses and the run's
Result.
"""
