"""Render a harness report as a Markdown table (which also reads as plain text)."""

from __future__ import annotations

from typing import Any

from .harness import WorkloadReport

TIMES = "\N{MULTIPLICATION SIGN}"


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _bytes(n: int | None) -> str:
    if n is None:
        return "n/a"
    if n < 1024:
        return f"{n} B"
    if n < 1024 ** 2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 ** 2:.2f} MiB"


def _ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}{TIMES}"


HEADER = ("| workload | size | system | median | min | max | ÷ hand | grad ÷ primal "
          "| first call | peak mem | mem ÷ hand |")


def workload_rows(w: WorkloadReport) -> list[str]:
    lines = []
    for row in w.rows:
        if row.status != "ok" and row.timing is None:
            lines.append(f"| {w.name} | {w.size_label} | {row.system} | {row.status} "
                         "| | | | | | | |")
            continue
        t = row.timing
        lines.append(
            f"| {w.name} | {w.size_label} | {row.system} | {_time(t.median if t else None)} "
            f"| {_time(t.min if t else None)} | {_time(t.max if t else None)} "
            f"| {_ratio(w.ratio(row.system))} | {_ratio(w.grad_over_primal(row.system))} "
            f"| {_time(row.first_call)} | {_bytes(row.peak_bytes)} "
            f"| {_ratio(w.mem_ratio(row.system))} |")
    return lines


def render(report: dict[str, Any], notes: list[str] | None = None) -> str:
    m = report["machine"]
    out = [
        f"## Results: size `{report['size']}` ({m['date']})",
        "",
        f"Machine: {m['platform']}, {m['processor']}, {m['cpus']} CPUs (shared), "
        f"BLAS threads {m['blas_threads']}; Python {m['python']}, NumPy {m['numpy']}, "
        f"adcompiler {m['adcompiler']}"
        + "".join(f", {k} {v}" for k, v in m.items() if k in ("autograd", "jax", "torch")) + ".",
        "",
        HEADER,
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in report["workloads"]:
        out.extend(workload_rows(w))
    out.append("")
    for w in report["workloads"]:
        if w.primal is not None:
            out.append(f"* {w.name} ({w.description} = {w.size_label}): primal "
                       f"{_time(w.primal.median)}, peak {_bytes(w.primal_peak_bytes)}")
        out.extend(f"  * {n}" for n in w.notes)
    for n in notes or []:
        out.append(f"* {n}")
    ck = report.get("checkpoint")
    if ck:
        out += ["", f"### ad.checkpoint memory (issue 7): {ck['config']}", "",
                "| gradient | peak mem | median time |", "| --- | ---: | ---: |"]
        for label in ("hand-written", "plain", "checkpointed"):
            v = ck.get(label)
            if isinstance(v, dict):
                out.append(f"| {label} | {_bytes(v['peak_bytes'])} | {_time(v['median'])} |")
            elif v is not None:
                out.append(f"| {label} | {v} | |")
        if "memory_ratio" in ck:
            out += ["", f"Checkpointed ÷ plain: peak memory {ck['memory_ratio']:.2f}{TIMES}, "
                        f"time {ck['time_ratio']:.2f}{TIMES}."]
    return "\n".join(out) + "\n"
