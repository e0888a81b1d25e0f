"""The README's main job: until the training command lands, the logistic-regression tutorial."""

import runpy
import sys
from pathlib import Path


def main() -> None:
    script = Path(__file__).resolve().parent.parent / "examples" / "logistic_regression.py"
    if not script.exists():
        print("juanji demo: examples/logistic_regression.py is missing", file=sys.stderr)
        raise SystemExit(1)
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
