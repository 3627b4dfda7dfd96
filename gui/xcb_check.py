"""Before the window opens on Linux: are the X11 (xcb) system libraries Qt needs installed?

A fresh desktop often lacks a few (``libxcb-cursor0``, ``libxcb-icccm4``,
``libxcb-keysyms1``, …) and Qt then aborts with "could not load the Qt platform
plugin xcb", which names no package. ``make run`` calls this first: it asks
the dynamic linker (``ldd`` on PySide6's xcb plugin, plus ``libxcb-cursor.so.0``,
which Qt opens at run time) what is missing and prints the one ``apt-get
install`` line. It imports no Qt, so it works exactly when Qt would not.

Exit status: 0 nothing missing (or not Linux, or no PySide6 yet), 1 libraries
missing (on Wayland only a warning and 0, since Qt can use its Wayland plugin).
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

RUNTIME = ("libxcb-cursor.so.0",)  # dlopen()ed by Qt 6.5+ at start-up, so ldd never lists it


def package_of(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname``: libxcb-icccm.so.4 -> libxcb-icccm4.

    Debian names a library package after the soname: lower case, the major
    version appended, with a dash when the name already ends in a digit
    (libxkbcommon-x11.so.0 -> libxkbcommon-x11-0, libdbus-1.so.3 -> libdbus-1-3).
    """
    m = re.match(r"^(.+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    name, major = m.group(1).lower(), m.group(2)
    return f"{name}{'-' if name[-1].isdigit() else ''}{major}"


def missing_from_ldd(text: str) -> list[str]:
    """The sonames ``ldd`` reports as ``not found``, each once, in order."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+not found", line)
        if m and m.group(1) not in out:
            out.append(m.group(1))
    return out


def install_line(sonames) -> str:
    pkgs = sorted({package_of(s) for s in sonames})
    return "sudo apt-get install -y " + " ".join(pkgs)


def _plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return p if p.exists() else None


def missing_libraries() -> list[str]:
    """Sonames the xcb platform plugin needs that the linker cannot find (empty when all are there)."""
    plugin = _plugin()
    if plugin is None:
        return []
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    missing = missing_from_ldd(out)
    for lib in RUNTIME:
        try:
            ctypes.CDLL(lib)
        except OSError:
            missing.append(lib)
    return missing


def main() -> int:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "xcb") not in ("xcb", ""):
        return 0
    missing = missing_libraries()
    if not missing:
        return 0
    wayland = bool(os.environ.get("WAYLAND_DISPLAY")) and "QT_QPA_PLATFORM" not in os.environ
    print(f"The Qt window needs system libraries that are missing: {', '.join(missing)}.\n"
          f"Install them with:\n\n    {install_line(missing)}\n", file=sys.stderr)
    if wayland:
        print("(Wayland session: trying Qt's Wayland plugin instead.)", file=sys.stderr)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
