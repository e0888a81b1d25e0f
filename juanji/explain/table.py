"""Drawing a :class:`~juanji.explain.summary.ModelSummary`: plain text and rich.

Both draw the same cells (``cells``), so the two can never disagree; only the frame differs.
Blocks (modules with child modules) show their output shape and receptive field, but no
cost: their children's rows hold it (unless ``depth`` hides the children: then the block
shows their sums).

Columns (``COLUMNS``; Layer and Type always come first):

    input    the input shape          params   parameters (the module's own)
    output   the output shape         frozen   parameters that do not require grad
    macs     multiply-accumulates     flops    floating-point operations
    rf       receptive field, jump and start (three columns)
    memory   the output's bytes
"""

from __future__ import annotations

__all__ = ["plain_text", "rich_renderable", "print_rich", "human_count", "human_bytes", "columns", "cells",
           "COLUMNS", "DEFAULT_COLUMNS", "check_columns", "shown_rows"]

COLUMNS = ("input", "output", "params", "frozen", "macs", "flops", "rf", "memory")
DEFAULT_COLUMNS = ("output", "params", "frozen", "macs", "flops", "rf")
_TITLES = {"input": ["Input shape"], "output": ["Output shape"], "params": ["Params"], "frozen": ["Frozen"],
           "macs": ["MACs"], "flops": ["FLOPs"], "rf": ["RF", "Jump", "Start"], "memory": ["Output memory"]}


def check_columns(names) -> tuple | None:
    """``names`` (a list, or a comma-separated string) checked against ``COLUMNS``; None: the default."""
    if names is None:
        return None
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown or not names:
        raise ValueError(f"summary: unknown column(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"choose from {', '.join(COLUMNS)}")
    return tuple(names)


def _shown_columns(summary) -> list:
    names = summary.columns or DEFAULT_COLUMNS
    if summary.columns is None and not summary.totals["non_trainable_params"]:
        names = [n for n in names if n != "frozen"]   # by default 'Frozen' only when something is frozen
    return list(names)


def shown_rows(summary) -> list:
    """The rows down to ``summary.depth``; a block at the limit carries its hidden descendants' cost."""
    depth = getattr(summary, "depth", None)
    if depth is None:
        return summary.rows
    shown = []
    for row in summary.rows:
        if row["depth"] > depth:
            continue
        if row["depth"] == depth and not row["leaf"]:
            inside = [r for r in summary.rows if r["name"].startswith(row["name"] + ".")]
            macs = [r["macs"] for r in inside if r["leaf"]]
            flops = [r["flops"] for r in inside if r["leaf"]]
            row = dict(row, macs=None if None in macs else sum(macs), flops=None if None in flops else sum(flops),
                       params=row["params"] + sum(r["params"] for r in inside),
                       non_trainable_params=row["non_trainable_params"] + sum(r["non_trainable_params"] for r in inside),
                       collapsed=True)
        shown.append(row)
    return shown


def human_count(n: int) -> str:
    """1234567 -> '1.23 M' (the exact count is in the rows)."""
    for factor, unit in ((10 ** 12, "T"), (10 ** 9, "G"), (10 ** 6, "M"), (10 ** 3, "K")):
        if n >= factor:
            return f"{n / factor:.2f} {unit}"
    return str(n)


def human_bytes(n: int) -> str:
    """Bytes in binary units: 2048 -> '2.00 KiB'."""
    for factor, unit in ((2 ** 30, "GiB"), (2 ** 20, "MiB"), (2 ** 10, "KiB")):
        if n >= factor:
            return f"{n / factor:.2f} {unit}"
    return f"{n} B"


def _per_dim(values: tuple, sep: str) -> str:
    """(5, 5) -> '5'; (5, 3) -> '5x3' (one entry per spatial dim, shown once when all agree)."""
    text = [str(v) for v in values]
    return text[0] if len(set(text)) == 1 else sep.join(text)


def columns(summary) -> list:
    """Column titles: Layer, Type, then those of the chosen columns."""
    titles = ["Layer", "Type"]
    for name in _shown_columns(summary):
        titles += _TITLES[name]
    return titles


def _shape_text(shape, shapes) -> str:
    if shape is None:
        return "-"
    return str(shape) + (f" +{len(shapes) - 1}" if len(shapes) > 1 else "")


def cells(summary, row: dict) -> list:
    """The text of one row, one string per column."""
    name = "  " * (row["depth"] - 1) + row["name"] + (f" (call {row['call']})" if row["call"] > 1 else "")
    costed = row["leaf"] or row.get("collapsed")
    out = [name, row["type"]]
    for column in _shown_columns(summary):
        if column == "input":
            out.append(str(row["input_shape"]) if row.get("input_shape") is not None else "-")
        elif column == "output":
            out.append(_shape_text(row["output_shape"], row["output_shapes"]))
        elif column == "params":
            out.append(f"{row['params']:,}" if row["params"] or costed else "")
        elif column == "frozen":
            out.append(f"{row['non_trainable_params']:,}" if row["non_trainable_params"] else "")
        elif column in ("macs", "flops"):
            value = row[column]
            out.append(("?" if value is None else f"{value:,}") if costed else "")
        elif column == "rf":
            field = row["receptive_field"]
            out += ["", "", ""] if field is None else [_per_dim(field["size"], "x"), _per_dim(field["jump"], "x"),
                                                       _per_dim(field["start"], ", ")]
        elif column == "memory":
            out.append(human_bytes(row["output_bytes"]) if row.get("output_bytes") is not None else "")
    return out


def _left_aligned(summary) -> set:
    """Names and shapes read left to right; numbers line up on the right."""
    titles = columns(summary)
    return {i for i, t in enumerate(titles) if t in ("Layer", "Type", "Input shape", "Output shape")}


def _heading(summary) -> str:
    shapes = ", ".join(str(s) for s in summary.input_shapes)
    return f"{summary.model_name} on input {shapes} ({summary.dtype})"


def _footer(summary) -> list:
    t = summary.totals
    lines = [
        f"Parameters: {t['params']:,} ({t['trainable_params']:,} trainable, "
        f"{t['non_trainable_params']:,} non-trainable)",
        f"MACs: {t['macs']:,} ({human_count(t['macs'])})   FLOPs: {t['flops']:,} ({human_count(t['flops'])})"
        "   [FLOPs = 2 x MACs + element-wise operations]",
    ]
    called = sum(r["params"] for r in summary.rows)
    if called < t["params"]:
        lines.append(f"{t['params'] - called:,} parameters belong to modules the forward pass did not call")
    if t["unknown_cost"]:
        lines.append("Cost not known for: " + ", ".join(t["unknown_cost"]) + " (left out of the totals)")
    lines.append(
        f"Memory: input {human_bytes(t['input_bytes'])}, parameters {human_bytes(t['param_bytes'])}, "
        f"buffers {human_bytes(t['buffer_bytes'])}, activations {human_bytes(t['activation_bytes'])}; "
        f"total {human_bytes(t['total_bytes'])}")
    field = t["receptive_field"]
    if field is not None:
        lines.append(f"Output receptive field: {_per_dim(field['size'], 'x')}, jump {_per_dim(field['jump'], 'x')}, "
                     f"start {_per_dim(field['start'], ', ')}")
    lines.append("RF: receptive field size, Jump: its step between neighbouring units, Start: the first "
                 "unit's centre (input pixels)")
    return lines


def plain_text(summary) -> str:
    titles = columns(summary)
    body = [cells(summary, row) for row in shown_rows(summary)]
    widths = [max(len(line[i]) for line in [titles] + body) for i in range(len(titles))]
    left = _left_aligned(summary)

    def line(values):
        return "  ".join(v.ljust(w) if i in left else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))

    rule = "-" * len(line(titles))
    out = [_heading(summary), rule, line(titles), rule]
    out += [line(values).rstrip() for values in body]
    out += [rule] + _footer(summary)
    return "\n".join(out)


def _widths(summary) -> list:
    titles = columns(summary)
    body = [cells(summary, row) for row in shown_rows(summary)]
    return [max(len(line[i]) for line in [titles] + body) for i in range(len(titles))]


def rich_renderable(summary):
    from rich.table import Table

    widths = _widths(summary)
    left = _left_aligned(summary)
    table = Table(title=_heading(summary), caption="\n".join(_footer(summary)), caption_justify="left")
    for i, (title, width) in enumerate(zip(columns(summary), widths)):
        if i == 0:   # a long layer path may fold onto a second line ...
            table.add_column(title, overflow="fold", min_width=min(width, 24))
        else:        # ... but a shape or a number is never cut short
            table.add_column(title, justify="left" if i in left else "right", no_wrap=True, min_width=width)
    for row in shown_rows(summary):
        table.add_row(*cells(summary, row), style=None if row["leaf"] or row.get("collapsed") else "dim")
    return table


def print_rich(summary, console=None, file=None) -> None:
    """Draw the table on ``console``; by default on a new console writing to ``file`` (default
    stdout), at least as wide as the table (rich would otherwise squeeze it into 80 columns
    when the output is no terminal)."""
    if console is None:
        from rich.console import Console
        widths = _widths(summary)
        needed = sum(widths) + 3 * len(widths) + 1   # rich's borders and one space of padding a side
        console = Console(file=file, width=max(Console(file=file).width, needed))
    console.print(rich_renderable(summary))
