"""Which of torch's documented names juanji still lacks.

    python scripts/torch_namespace.py              # report; exit status 1 if a required name is missing
    python scripts/torch_namespace.py --all        # also the sections juanji need not cover
    python scripts/torch_namespace.py --from-doc torch.md   # rewrite the name list from torch's page

The names come from torch's own documentation: ``scripts/torch_documented_names.txt`` holds the
autosummary lists of ``docs/source/torch.md`` (pytorch's reference page for the ``torch``
module), one section per ``[heading]``; ``--from-doc`` rebuilds that file from a newer page.

For each name of a REQUIRED section the check asks, in this order:

1. ``juanji.<name>`` exists (``Tensor.cauchy_`` style names: the attribute of juanji.Tensor);
2. if the installed torch has the method ``torch.Tensor.<name>``, ``juanji.Tensor.<name>`` exists
   (the filter for "as Tensor methods": exactly the names torch also offers as methods);
3. if ``torch.Tensor.<name>_`` exists (torch's in-place form), ``juanji.Tensor.<name>_`` exists;
4. if torch's operator ``torch.ops.aten.<name>`` has an overload with keyword-only output
   arguments (``out``, or ``values``/``indices`` behind ``out=(values, indices)``) and torch's
   docstring of the function lists ``out``, ``juanji.<name>`` accepts ``out=`` (its signature names ``out``).

Steps 2-4 need torch installed (the test oracle); without it only step 1 runs. The
``torch.linalg`` basics the project promises are checked the same way (step 1, as
``juanji.linalg.<name>``).

Names out of scope are listed in EXCEPTIONS with the reason; they are reported apart and do not
fail the check.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import sys

NAMES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_documented_names.txt")

# the sections of torch.md that juanji covers (issue 11)
REQUIRED = ["Tensors", "Creation Ops", "Indexing, Slicing, Joining, Mutating Ops", "Generators", "Random sampling",
            "In-place random sampling", "Parallelism", "Locally disabling gradient computation", "Constants",
            "Pointwise Ops", "Reduction Ops", "Comparison Ops", "Other Operations"]

# torch.linalg: the basics promised by issue 11
LINALG = ["norm", "vector_norm", "matrix_norm", "inv", "det", "solve", "svd", "eigh", "qr", "cholesky"]

_COMPLEX = "complex numbers are out of scope: juanji's tensors are real (float16/32/64, integers, bool)"
_SPARSE = "sparse layouts are out of scope: juanji's tensors are dense"
_QUANT = "quantization is out of scope (no quantized dtypes)"
EXCEPTIONS = {
    "sparse_coo_tensor": _SPARSE, "sparse_csr_tensor": _SPARSE, "sparse_csc_tensor": _SPARSE,
    "sparse_bsr_tensor": _SPARSE, "sparse_bsc_tensor": _SPARSE,
    "quantize_per_tensor": _QUANT, "quantize_per_channel": _QUANT, "dequantize": _QUANT,
    "fake_quantize_per_channel_affine": _QUANT, "fake_quantize_per_tensor_affine": _QUANT,
    "quantized_batch_norm": _QUANT, "quantized_max_pool1d": _QUANT, "quantized_max_pool2d": _QUANT,
    "complex": _COMPLEX, "polar": _COMPLEX, "view_as_real": _COMPLEX, "view_as_complex": _COMPLEX,
    "quasirandom.SobolEngine": "quasi-random sequences are out of scope for a CNN framework",
}


def read_names(path=NAMES_FILE):
    """{section: [names]} from the names file."""
    sections, current = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], [])
            elif current is not None:
                current.append(line)
    return sections


def names_from_doc(text):
    """{section: [names]} from torch.md: each heading's autosummary lists, the ``torch.Tensor.x_``
    methods named in a section's text, ``default_generator`` and the constants table."""
    sections, current, in_summary = {}, None, False
    for raw in text.splitlines():
        line = raw.strip()
        heading = re.match(r"^#{2,4}\s+(.*)$", raw)
        if heading:
            current = sections.setdefault(heading.group(1).strip(), [])
            in_summary = False
            continue
        if current is None:
            continue
        if line.startswith(".. autosummary::"):
            in_summary = True
            continue
        if in_summary:
            if line.startswith("```"):
                in_summary = False
            elif line and not line.startswith(":") and re.match(r"^[A-Za-z_][\w.]*$", line):
                current.append(line.split("grad_mode.")[-1])
            continue
        for method in re.findall(r"\{func\}`torch\.(Tensor\.\w+_)`", line):
            if method not in current:
                current.append(method)
        if line.startswith(".. autoattribute:: torch."):
            current.append(line.split("torch.", 1)[1])
        constant = re.match(r"^\* - `(\w+)`$", line)
        if constant:
            current.append(constant.group(1))
    return {k: v for k, v in sections.items() if v}


def _has(module, dotted):
    obj = module
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def _accepts_out(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True  # a builtin without a signature: cannot tell, do not report
    return any(p.name == "out" for p in params)


def _aten_has_out(torch, name) -> bool:
    try:
        packet = getattr(torch.ops.aten, name)
        overloads = packet.overloads()
    except (AttributeError, RuntimeError):
        return False
    for overload in overloads:
        schema = getattr(packet, overload)._schema
        for arg in schema.arguments:  # out=, or out=(values, indices) for the functions returning pairs
            if arg.kwarg_only and arg.alias_info is not None and arg.alias_info.is_write:
                return True
    return False


def _documents_out(torch, name) -> bool:
    """torch's docstring of ``name`` (or of the function it is an alias for) lists ``out``."""
    doc = getattr(getattr(torch, name, None), "__doc__", None) or ""
    alias = re.search(r"Alias for :func:`torch\.(\w+)`", doc[:300])
    if alias and alias.group(1) != name:
        return _documents_out(torch, alias.group(1))
    return bool(re.search(r"out=None|out \((Tensor|tuple)", doc))


# functions whose operator has an out overload and whose docstring lists out=, but whose Python
# binding refuses it (torch raises TypeError: checked by tests/test_torch_namespace.py)
NO_PYTHON_OUT = {"zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "var_mean", "std_mean",
                 "from_file", "empty_strided"}


def torch_has_out(torch, name) -> bool:
    """torch's ``name`` takes ``out=``: its operator has an output overload and its docstring
    lists ``out`` (each alone over-reports: aten has ``clone.out``, which Python does not offer),
    and it is not one of NO_PYTHON_OUT."""
    return name not in NO_PYTHON_OUT and _aten_has_out(torch, name) and _documents_out(torch, name)


def check(sections=None, torch=None, required=REQUIRED):
    """{section: [missing entries]} for the required sections (and torch.linalg). An entry is a
    name (``sinh``), a method (``Tensor.sinh``, ``Tensor.sinh_``) or ``sinh(out=)``."""
    import juanji
    sections = read_names() if sections is None else sections
    report = {}
    for section in required:
        missing = []
        for name in sections.get(section, []):
            if name in EXCEPTIONS:
                continue
            if name.startswith("Tensor."):
                if not _has(juanji.Tensor, name[len("Tensor."):]):
                    missing.append(name)
                continue
            if not _has(juanji, name):
                missing.append(name)
                continue
            if torch is None:
                continue
            if hasattr(torch.Tensor, name) and not hasattr(juanji.Tensor, name):
                missing.append(f"Tensor.{name}")
            if hasattr(torch.Tensor, name + "_") and not hasattr(juanji.Tensor, name + "_"):
                missing.append(f"Tensor.{name}_")
            if torch_has_out(torch, name) and not _accepts_out(getattr(juanji, name)):
                missing.append(f"{name}(out=)")
        report[section] = missing
    linalg = getattr(juanji, "linalg", None)
    report["torch.linalg basics"] = [f"linalg.{n}" for n in LINALG if linalg is None or not hasattr(linalg, n)]
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="also report the sections juanji need not cover")
    parser.add_argument("--from-doc", metavar="TORCH_MD", help="rewrite the names file from torch's torch.md")
    args = parser.parse_args(argv)
    if args.from_doc:
        with open(args.from_doc, encoding="utf-8") as f:
            sections = names_from_doc(f.read())
        with open(NAMES_FILE, encoding="utf-8") as f:
            header = [line for line in f if line.startswith("#")]
        with open(NAMES_FILE, "w", encoding="utf-8") as f:
            f.writelines(header)
            for section, names in sections.items():
                f.write(f"[{section}]\n" + "".join(n + "\n" for n in names))
        print(f"wrote {sum(map(len, sections.values()))} names in {len(sections)} sections to {NAMES_FILE}")
        return 0
    try:
        import torch
    except ImportError:
        torch = None
        print("(torch is not installed: checking the names only, not the methods, in-place forms and out=)")
    sections = read_names()
    required = list(sections) if args.all else REQUIRED
    report = check(sections, torch, required)
    total = 0
    for section, missing in report.items():
        optional = section not in REQUIRED and section != "torch.linalg basics"
        total += 0 if optional else len(missing)
        label = " (not required)" if optional else ""
        print(f"{section}{label}: {len(missing)} missing" + (": " + " ".join(missing) if missing else ""))
    print(f"\nout of scope ({len(EXCEPTIONS)}):")
    for name, reason in EXCEPTIONS.items():
        print(f"  {name}: {reason}")
    print(f"\n{total} required names missing")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
