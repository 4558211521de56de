"""Ship bytecode in the code bundle: ``python -m infra.bytecode build/<stage>``.

``chalice package`` zips sources only, and Lambda's ``/var/task`` is read-only, so
without this every cold start compiles every module it imports (about a second of the
first request; ``make bench``'s cold start measures it). Compiled here once, with the
interpreter matching the functions' runtime, into unchecked-hash ``.pyc`` files: valid
whatever the files' times in the zip, never checked against their sources.
"""

from __future__ import annotations

import compileall
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

BUNDLE = "deployment.zip"


class _Loader(yaml.SafeLoader):
    """The packaged template's short forms (``!GetAtt`` …) are of no interest here."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def runtime(package_dir: Path) -> str:
    template = yaml.load((package_dir / "sam.yaml").read_text(), Loader=_Loader)  # noqa: S506
    runtimes = {
        resource["Properties"]["Runtime"]
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::Serverless::Function"
    }
    (only,) = runtimes
    return only


def compile_bundle(package_dir: Path) -> int:
    """Add a ``.pyc`` beside every module of the bundle; returns how many there are."""
    wanted = runtime(package_dir)
    running = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if wanted != running:  # bytecode is only read by the interpreter version that wrote it
        raise SystemExit(f"The functions run {wanted}; compile the bundle with it, not {running}.")
    bundle = package_dir / BUNDLE
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(bundle) as source:
            source.extractall(root)
            modes = {info.filename: info.external_attr for info in source.infolist()}
        compileall.compile_dir(
            root,
            quiet=2,
            workers=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        rebuilt = bundle.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as target:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                name = path.relative_to(root).as_posix()
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = modes.get(name, 0o644 << 16)
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, path.read_bytes())
        rebuilt.replace(bundle)
    with zipfile.ZipFile(bundle) as done:
        return sum(1 for name in done.namelist() if name.endswith(".pyc"))


if __name__ == "__main__":
    count = compile_bundle(Path(sys.argv[1]))
    print(f"{count} modules compiled into {Path(sys.argv[1]) / BUNDLE}")
