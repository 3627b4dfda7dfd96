"""`make run`'s check for the X11 libraries Qt needs: ldd's "not found" lines -> Debian packages -> one line."""
import subprocess
import sys

from gui.xcb_check import install_line, missing_from_ldd, package_of

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
"""


def test_missing_libraries_are_read_from_ldd_once_each():
    assert missing_from_ldd(LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0"]
    assert missing_from_ldd("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_sonames_map_to_the_debian_package_names():
    assert package_of("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert package_of("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert package_of("libxcb-render-util.so.0") == "libxcb-render-util0"
    assert package_of("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"  # name ends in a digit: a dash
    assert package_of("libX11-xcb.so.1") == "libx11-xcb1"
    assert package_of("libdbus-1.so.3") == "libdbus-1-3"
    assert install_line(missing_from_ldd(LDD) + ["libxcb-cursor.so.0"]) == (
        "sudo apt-get install -y libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0")


def test_the_check_imports_no_qt_and_is_silent_off_xcb():
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'; import gui.xcb_check as c; "
            "rc = c.main(); assert not any(m.startswith('PySide6') for m in sys.modules); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == ""
