from __future__ import annotations

from hypothesis import HealthCheck, settings

# These machines are noisy (shared cores): judge properties, not the speed of drawing examples.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")
