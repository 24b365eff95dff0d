"""Where the installed package keeps its C++ side: headers, the static PIC library and the CMake package
config, for ``find_package(fastaug CONFIG)`` (as ``torch.utils.cmake_prefix_path`` and ``pybind11 --cmakedir``).

The wheel lays them out under the package: fastaug/include, fastaug/lib/libfastaug.a and
fastaug/lib/cmake/fastaug. An editable install puts the built files next to the compiled module rather than
next to __init__.py, so both places are looked at."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ._errors import FastaugError

CONFIG = Path("lib") / "cmake" / "fastaug" / "fastaugConfig.cmake"


def _candidates() -> list[Path]:
    places = [Path(__file__).resolve().parent]
    try:
        spec = importlib.util.find_spec("fastaug._C")  # finds the module without loading it
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        places.append(Path(spec.origin).resolve().parent)
    return places


def cmake_prefix_path() -> str:
    """The prefix to put on CMAKE_PREFIX_PATH: the folder holding include/ and lib/cmake/fastaug."""
    places = _candidates()
    for place in places:
        if (place / CONFIG).is_file():
            return str(place)
    raise FastaugError(
        f"fastaug's CMake package is not installed with this copy of fastaug (looked for {CONFIG} in "
        f"{', '.join(str(p) for p in places)}); install fastaug from a wheel or with pip install ., or build the "
        f"C++ library with cmake (see the README's C++ section)"
    )


def cmake_dir() -> str:
    """The folder holding fastaugConfig.cmake (for fastaug_DIR, or CMAKE_PREFIX_PATH)."""
    return str(Path(cmake_prefix_path()) / CONFIG.parent)
