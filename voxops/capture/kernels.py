"""Loading the compiled capture kernels (fastpath.py).

Measured here: importing numba and loading JIT-cached kernels costs 1.5-2 s in every
process, longer than scanning a million packets. So the kernels are compiled ahead of
time once (numba.pycc, about 15 s) into a small extension module in the user cache,
keyed by the kernel source and the numba/Python versions; later runs import it in
milliseconds without numba. Where that build cannot run (no C compiler), numba's JIT
is used instead, with the same source.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import sys
import sysconfig
import tempfile
from importlib import metadata
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

_HERE = Path(__file__).resolve().parent
_SOURCES = [_HERE / "fastpath.py", _HERE / "kinds.py"]
_loaded: Any = None


def cache_dir() -> Path:
    base = os.environ.get("VOXOPS_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "voxops" if base else Path.home() / ".cache" / "voxops"


def _module_name(sources: list[Path] | None = None, prefix: str = "_voxops_kernels_") -> str:
    digest = hashlib.sha256()
    for source in sources or _SOURCES:
        digest.update(source.read_bytes())
    digest.update(f"{metadata.version('numba')} {sys.version} {platform.machine()}".encode())
    return f"{prefix}{digest.hexdigest()[:16]}"


def ahead_of_time(sources: list[Path], kernels: str, what: str, prefix: str) -> ModuleType | None:
    """The ahead-of-time build of the kernel module `kernels` (keyed by `sources`), built
    on first use; None where it cannot be built or VOXOPS_KERNELS=jit."""
    name = _module_name(sources, prefix)
    path = cache_dir() / (name + sysconfig.get_config_var("EXT_SUFFIX"))
    if not path.exists() and os.environ.get("VOXOPS_KERNELS") != "jit":
        _build(path, name, kernels, what)
    return _import(path, name) if path.exists() else None


def load() -> Any:
    """The kernels module: ahead-of-time build if possible, else numba JIT."""
    global _loaded
    if _loaded is None:
        module = ahead_of_time(_SOURCES, "voxops.capture.fastpath", "capture", "_voxops_kernels_")
        _loaded = module if module is not None else jit_kernels()
    return _loaded


def _import(path: Path, name: str) -> ModuleType | None:
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except ImportError:
        return None


def jit_kernels() -> SimpleNamespace:
    from numba import njit

    from voxops.capture import fastpath

    return SimpleNamespace(
        **{n: njit(cache=True, nogil=True)(getattr(fastpath, n)) for n in fastpath.SIGNATURES}
    )


def _build(path: Path, name: str, kernels: str = "voxops.capture.fastpath", what: str = "capture") -> None:
    """Compile the module `kernels` (its SIGNATURES) ahead of time into `path`."""
    from voxops.errors import VoxopsError
    from voxops.proc import run

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"voxops: compiling the {what} kernels (once, about 15 s)", file=sys.stderr)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            run([sys.executable, "-m", "voxops.capture.kernels", tmp, name, kernels], timeout=900, check=True)
            built = Path(tmp) / path.name
            if built.exists():
                os.replace(built, path)  # atomic: concurrent scans never see half a file
    except (OSError, VoxopsError) as exc:
        print(f"voxops: using the JIT instead ({exc})", file=sys.stderr)


def _compile(out_dir: str, name: str, kernels: str = "voxops.capture.fastpath") -> None:
    import importlib
    import warnings

    warnings.simplefilter("ignore")
    from numba.pycc import CC

    module = importlib.import_module(kernels)
    cc = CC(name)
    cc.output_dir = out_dir
    cc.verbose = False
    for fn, signature in module.SIGNATURES.items():
        cc.export(fn, signature)(getattr(module, fn))
    cc.compile()


if __name__ == "__main__":
    _compile(*sys.argv[1:4])
