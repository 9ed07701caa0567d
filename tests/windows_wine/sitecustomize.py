"""Wine 8 shims for the Windows lane (scripts/windows-lane copies this into the Wine CPython's ``Lib``).

Wine 8 lacks two Win32 functions that CPython 3.12 calls, and a call aborts the process. Real Windows has both,
so nothing here belongs in the product:

- ``propsys.VariantToString``, behind ``platform.machine()`` through ``_wmi``: with ``_wmi`` unimportable,
  ``platform`` falls back to the environment and the registry.
- ``kernel32.CopyFile2``, behind ``shutil.copy2``: without ``_winapi.CopyFile2`` shutil copies by hand.
"""

import sys

sys.modules["_wmi"] = None  # type: ignore[assignment]

import _winapi  # noqa: E402

if hasattr(_winapi, "CopyFile2"):
    del _winapi.CopyFile2
