"""The command line every module generator in scripts/ shares: write the module, or check it.

    python scripts/gen_X.py            # rewrite the module
    python scripts/gen_X.py --check    # exit 1 if the module is not what the script writes
"""

from __future__ import annotations

import argparse
import pathlib
import sys


def main(doc: str, target: pathlib.Path, text: str, script: str, argv=None) -> int:
    """Write ``text`` to ``target``, or with ``--check`` compare them (exit status 1 if they differ)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the module differs from what this writes")
    args = parser.parse_args(argv)
    if args.check:
        current = target.read_text() if target.exists() else ""
        if current != text:
            print(f"{target} is not what {script} writes: rerun it", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    return 0
