"""From benchmark records to the table of issue 9's targets (JSON + Markdown, and the README).

Every figure in the table is a ratio of medians with the foreign load it was measured under
(the highest of the records behind it, in % of the machine); a row whose records were all
above the load limit, or measured while the two CPUs were far apart (``coreprobe``), says so
(``loaded``) and does not count as a result.
"""

from __future__ import annotations

import json
import math
import pathlib
import statistics

from .cases import CASES

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
README = RESULTS.parent.parent / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
_CASES = {case.name: case for case in CASES}
COLD_LIMIT_S = 5.0
MEMORY_LIMIT = 0.8
CONV_GEOMEAN_LIMIT, CONV_WORST_LIMIT = 0.9, 1.3


def _summaries(records, label, mode, value_key):
    """{(case, framework): {"value": median over rounds, "load": max load, "rounds", "loaded"}}."""
    grouped = {}
    for record in records:
        if record.get("label") != label or record.get("mode") != mode or "error" in record:
            continue
        grouped.setdefault((record["case"], record["framework"]), []).append(record)
    out = {}
    for key, group in grouped.items():
        clean = [r for r in group if not r.get("loaded")]
        used = clean or group
        loads = [r["load"] for r in used if r.get("load") is not None]
        out[key] = {"value": statistics.median(r[value_key] for r in used), "rounds": len(used),
                    "loaded": not clean, "load": max(loads) if loads else None,
                    "own_cores": statistics.median(r.get("own_cores") or 0.0 for r in used)}
    return out


def _errors(records):
    return sorted({(r["case"], r["framework"], r["error"]) for r in records if "error" in r})


def _pair(summaries, case):
    j, t = summaries.get((case, "juanji")), summaries.get((case, "torch"))
    if not j or not t:
        return None
    loads = [s["load"] for s in (j, t) if s["load"] is not None]
    return {"juanji": j["value"], "torch": t["value"], "load": max(loads) if loads else None,
            "loaded": j["loaded"] or t["loaded"], "rounds": min(j["rounds"], t["rounds"])}


def _row(target, case, pair, ratio, goal, met, unit="ms", scale=1e3):
    return {"target": target, "case": case, "juanji": None if pair is None else pair["juanji"] * scale,
            "torch": None if pair is None else pair["torch"] * scale, "unit": unit, "ratio": ratio, "goal": goal,
            "met": met, "load": None if pair is None else pair["load"],
            "loaded": False if pair is None else pair["loaded"], "rounds": None if pair is None else pair["rounds"],
            "round_ratios": None}


def _round_ratios(records, case, speed: bool, label="quiet"):
    """The ratio of each round in which both frameworks were measured quietly (torch's time over
    juanji's for a speed target, else juanji's over torch's), sorted. The two processes of a round
    ran back to back, so a drift of the whole machine between rounds (torch's LeNet-5 step took 4.7
    ms in one round of a run and 7.6 in another) moves both and leaves the round's ratio alone."""
    by_round = {}
    for record in records:
        if (record.get("label") != label or record.get("mode") != "time" or record.get("case") != case
                or "error" in record or record.get("loaded") or record.get("round") is None):
            continue
        by_round.setdefault(record["round"], {})[record["framework"]] = record["median_s"]
    ratios = []
    for times in by_round.values():
        if "juanji" in times and "torch" in times:
            ratios.append(times["torch"] / times["juanji"] if speed else times["juanji"] / times["torch"])
    return sorted(ratios) or None


def target_rows(records):
    times = _summaries(records, "quiet", "time", "median_s")
    rows = []
    # model targets, in the issue's order
    for case in CASES:
        if case.target is None:
            continue
        pair = _pair(times, case.name)
        kind, bound = case.target
        if pair is None:
            rows.append(_row(_target_name(case), case.title, None, None, _goal(kind, bound), None))
            continue
        ratio = pair["torch"] / pair["juanji"] if kind == "speed" else pair["juanji"] / pair["torch"]
        met = ratio >= bound if kind == "speed" else ratio <= bound
        row = _row(_target_name(case), case.title, pair, ratio, _goal(kind, bound), met)
        row["round_ratios"] = _round_ratios(records, case.name, kind == "speed")
        rows.append(row)
    # the convolution list: geometric mean and worst of juanji/torch fwd+bwd
    conv = [(c, _pair(times, c.name)) for c in CASES if c.extra.get("conv")]
    conv = [(c, p) for c, p in conv if p is not None]
    if conv:
        ratios = [p["juanji"] / p["torch"] for _, p in conv]
        geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        worst_case, worst_pair = max(conv, key=lambda cp: cp[1]["juanji"] / cp[1]["torch"])
        loads = [p["load"] for _, p in conv if p["load"] is not None]
        summary = {"juanji": None, "torch": None, "load": max(loads) if loads else None,
                   "loaded": any(p["loaded"] for _, p in conv), "rounds": min(p["rounds"] for _, p in conv)}
        rows.append(dict(_row("conv fwd+bwd, geometric mean of time", f"{len(conv)} cases", None, geo,
                              f"<= {CONV_GEOMEAN_LIMIT}", geo <= CONV_GEOMEAN_LIMIT),
                         load=summary["load"], loaded=summary["loaded"], rounds=summary["rounds"]))
        worst = worst_pair["juanji"] / worst_pair["torch"]
        rows.append(_row("conv fwd+bwd, worst case time", worst_case.title, worst_pair, worst,
                         f"<= {CONV_WORST_LIMIT}", worst <= CONV_WORST_LIMIT))
    # 3x3 stride-1 convolutions above the GEMM ceiling
    gemm = _pair(times, "conv/gemm-2048")
    if gemm:
        flops = _CASES["conv/gemm-2048"].flops
        ceiling = max(flops / gemm["juanji"], flops / gemm["torch"]) / 1e9
        for case in CASES:
            pair = _pair(times, case.name)
            if not case.extra.get("three_by_three") or pair is None:
                continue
            rate = case.flops / pair["juanji"] / 1e9
            row = _row("3x3 s1 effective GFLOP/s over the GEMM ceiling", f"{case.title} ({rate:.0f} vs "
                       f"{ceiling:.0f} GFLOP/s)", pair, rate / ceiling, "> 1", rate > ceiling)
            row["load"] = max(x for x in (pair["load"], gemm["load"], 0.0) if x is not None)
            rows.append(row)
    # memory
    memory = _summaries(records, "memory", "memory", "peak_rise_mib")
    for case in CASES:
        pair = _pair(memory, case.name)
        if pair is None:
            continue
        ratio = pair["juanji"] / max(pair["torch"], 1e-9)
        goal = f"<= {MEMORY_LIMIT}"
        gradients = [r.get("gradients_mib") for r in records if r.get("mode") == "memory" and r.get("case") == case.name
                     and r.get("gradients_mib")]
        if gradients and gradients[0] > MEMORY_LIMIT * pair["torch"]:
            # the parameters' gradients alone pass the goal: no framework that keeps them can meet it
            goal += f" (the gradients alone: {gradients[0] / pair['torch']:.2f})"
        rows.append(_row("peak memory of the step", case.title, pair, ratio, goal,
                         ratio <= MEMORY_LIMIT, unit="MiB", scale=1.0))
    # cold start: seconds from process start to the end of the first call, juanji's absolute
    for label, target in (("cold", "cold start, empty Numba cache (s)"),
                          ("cold after install warm-up", "cold start after install's warm-up (s)")):
        cold = _summaries(records, label, "cold", "process_s")
        for case in CASES:
            pair = _pair(cold, case.name)
            if pair is None:
                continue
            rows.append(_row(target, case.title, pair, pair["juanji"], f"< {COLD_LIMIT_S} s",
                             pair["juanji"] < COLD_LIMIT_S, unit="s", scale=1.0))
    # under load: each framework's slowdown with one core busy
    busy = _summaries(records, "busy core", "time", "median_s")
    for case in CASES:
        loaded_pair, quiet_pair = _pair(busy, case.name), _pair(times, case.name)
        if loaded_pair is None or quiet_pair is None:
            continue
        j_slow = loaded_pair["juanji"] / quiet_pair["juanji"]
        t_slow = loaded_pair["torch"] / quiet_pair["torch"]
        row = _row("one core busy: slowdown juanji / torch", f"{case.title} (juanji x{j_slow:.2f}, torch x{t_slow:.2f})",
                   loaded_pair, loaded_pair["torch"] / loaded_pair["juanji"], "report", None)
        row["loaded"] = False  # the load is the experiment
        rows.append(row)
    return rows


def _target_name(case):
    return {"train": "training images/s", "small": "small-batch fwd+bwd time",
            "infer": "batch-1 inference latency"}.get(case.suite, case.suite)


def _goal(kind, bound):
    return f">= {bound}" if kind == "speed" else f"<= {bound}"


def detail_rows(records):
    times = _summaries(records, "quiet", "time", "median_s")
    rows = []
    for case in CASES:
        pair = _pair(times, case.name)
        if pair is None:
            continue
        row = {"case": case.title, "suite": case.suite, "juanji_ms": pair["juanji"] * 1e3,
               "torch_ms": pair["torch"] * 1e3, "ratio": pair["juanji"] / pair["torch"], "load": pair["load"],
               "loaded": pair["loaded"], "rounds": pair["rounds"]}
        if case.flops:
            row["juanji_gflops"] = case.flops / pair["juanji"] / 1e9
            row["torch_gflops"] = case.flops / pair["torch"] / 1e9
        rows.append(row)
    return rows


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def _load_text(row):
    text = _fmt(None if row["load"] is None else 100 * row["load"], ".0f")
    return text + (" (loaded)" if row.get("loaded") else "")


def _per_round(row):
    ratios = row.get("round_ratios")
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def markdown(payload):
    records = payload["records"]
    machine = payload["machine"]
    envs = {}
    for record in records:
        if "env" in record:
            envs.setdefault(record["framework"], record["env"])
    versions = ", ".join(f"{fw} {env['version']} ({env['threads']} threads)" for fw, env in sorted(envs.items()))
    if "juanji" in envs:
        env = envs["juanji"]
        versions += f", Python {env['python']}, NumPy {env['numpy']}, Numba {env.get('numba', '?')}"
    vectors = f" ({machine['vectors']})" if machine.get("vectors") else ""
    lines = [f"Machine: {machine.get('cpu')}{vectors}, {machine.get('cpus')} CPUs, {machine.get('memory_gib')} GiB; "
             f"{versions}. Updated {payload['updated']}.", "",
             "| target | case | torch | juanji | ratio | per round: median (range) | goal | met | foreign load % (max) "
             "| rounds |",
             "|---|---|---:|---:|---:|---:|---|---|---:|---:|"]
    for row in target_rows(records):
        unit = row["unit"]
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        if row.get("loaded") and row["met"] is not None:
            met = "not measured quietly"
        lines.append(f"| {row['target']} | {row['case']} | {_fmt(row['torch'], '.1f')} {unit} | "
                     f"{_fmt(row['juanji'], '.1f')} {unit} | {_fmt(row['ratio'], '.2f')} | {_per_round(row)} | "
                     f"{row['goal']} | {met} | {_load_text(row)} | {_fmt(row['rounds'], 'd')} |")
    lines += ["", "Ratios: training rows are images/s of juanji over torch's (higher is better); time, memory "
              "and latency rows are juanji's over torch's (lower is better). Each framework ran in its own fresh "
              "process per round, rounds interleaved, 2 threads each; a time is the median over rounds of each "
              "process's median, and the ratio is that of those medians (\"met\" is read from it); the column after "
              "it gives the ratio of each round, its two processes timed back to back, as the median and range "
              "over rounds. Foreign load: CPU time of other processes during the timing window, as a share of "
              "the whole machine (from /proc/stat minus the process's own CPU time); rounds above 10 % were "
              "measured again and a row whose rounds all stayed above it is marked loaded (not a result). The same "
              "rule holds for the distance between the two CPUs: a case before or after which a cache line's "
              "round trip between two threads took longer than 250 ns (50-60 ns normally; 300-2,000 ns while the "
              "hypervisor keeps the two virtual CPUs apart, `benchmarks/coreprobe.py`) was measured again.", ""]
    details = detail_rows(records)
    if details:
        lines += ["All timed cases (ratio = juanji time / torch time):", "",
                  "| suite | case | torch ms | juanji ms | juanji/torch | torch GFLOP/s | juanji GFLOP/s | load % |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for row in details:
            lines.append(f"| {row['suite']} | {row['case']} | {row['torch_ms']:.3f} | {row['juanji_ms']:.3f} | "
                         f"{row['ratio']:.2f} | {_fmt(row.get('torch_gflops'), '.0f')} | "
                         f"{_fmt(row.get('juanji_gflops'), '.0f')} | {_load_text(row)} |")
    errors = _errors(records)
    if errors:
        lines += ["", "Errors:", ""] + [f"- {fw} {case}: {error}" for case, fw, error in errors]
    return "\n".join(lines) + "\n"


def write_results(payload, readme=False):
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = dict(payload, targets=target_rows(payload["records"]))
    (RESULTS / "bench.json").write_text(json.dumps(payload, indent=1, default=str))
    text = "# juanji vs PyTorch on the CPU\n\n" + markdown(payload)
    (RESULTS / "bench.md").write_text(text)
    if readme:
        update_readme(markdown(payload))
    return text


def update_readme(table):
    text = README.read_text()
    if BEGIN not in text:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} section to fill")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(head + BEGIN + "\n" + table + END + tail)
