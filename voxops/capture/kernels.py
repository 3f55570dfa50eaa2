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
_loaded: Any = None


def cache_dir() -> Path:
    base = os.environ.get("VOXOPS_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "voxops" if base else Path.home() / ".cache" / "voxops"


def _module_name() -> str:
    digest = hashlib.sha256()
    for name in ("fastpath.py", "kinds.py"):
        digest.update((_HERE / name).read_bytes())
    digest.update(f"{metadata.version('numba')} {sys.version} {platform.machine()}".encode())
    return f"_voxops_kernels_{digest.hexdigest()[:16]}"


def load() -> Any:
    """The kernels module: ahead-of-time build if possible, else numba JIT."""
    global _loaded
    if _loaded is not None:
        return _loaded
    name = _module_name()
    path = cache_dir() / (name + sysconfig.get_config_var("EXT_SUFFIX"))
    if not path.exists() and os.environ.get("VOXOPS_KERNELS") != "jit":
        _build(path, name)
    module = _import(path, name) if path.exists() else None
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


def _build(path: Path, name: str) -> None:
    from voxops.errors import VoxopsError
    from voxops.proc import run

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        print("voxops: compiling the capture kernels (once, about 15 s)", file=sys.stderr)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            run([sys.executable, "-m", "voxops.capture.kernels", tmp, name], timeout=900, check=True)
            built = Path(tmp) / path.name
            if built.exists():
                os.replace(built, path)  # atomic: concurrent scans never see half a file
    except (OSError, VoxopsError) as exc:
        print(f"voxops: using the JIT instead ({exc})", file=sys.stderr)


def _compile(out_dir: str, name: str) -> None:
    import warnings

    warnings.simplefilter("ignore")
    from numba.pycc import CC

    from voxops.capture import fastpath

    cc = CC(name)
    cc.output_dir = out_dir
    cc.verbose = False
    for fn, signature in fastpath.SIGNATURES.items():
        cc.export(fn, signature)(getattr(fastpath, fn))
    cc.compile()


if __name__ == "__main__":
    _compile(sys.argv[1], sys.argv[2])
