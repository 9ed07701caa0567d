"""streampixel-deploy: ship packaged Unreal Engine builds to Streampixel."""

from streampixel_deploy._version import __version__

__all__ = ["__version__"]
