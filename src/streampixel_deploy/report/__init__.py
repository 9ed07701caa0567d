"""Reporters: how a run is shown to a person (terminal), a program (JSON) or a GitHub runner."""
