"""The claim-by-claim report: ``REPORT.md`` and a self-contained ``report.html``.

Both are built from the same inputs: ``claims.csv`` (verdicts derived from the tables, each with
its pre-registered rule and the outcome of its negative control), the
figures rendered from those tables, ``manifest.json`` (what ran, under which profile, how long)
and the environment (package versions, device, git SHA). The report only formats; every number
in it comes from a table.
"""

from __future__ import annotations

import base64
import html
import importlib.metadata
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from experiments.cache import atomic_write_text
from experiments.reproduction.claims import CONTROL_OUTCOMES, VERDICTS

PROFILE_NOTE = {
    "smoke": "smoke (CI sizes: a check that everything runs; its verdicts are not evidence)",
    "default": "default (laptop scale)",
    "full": "full (paper-like sizes)",
}
PACKAGES = ("numpy", "scipy", "jax", "jaxlib", "optax", "sympy", "pandas", "matplotlib")
MARK = {"reproduced": "✅", "partially": "🟡", "not_reproduced": "❌", "not_applicable": "➖"}
# The control column's first word, as shown in the claims table.
CONTROL_NOTE = {
    "failed": "failed (as required)",
    "held": "held: cannot discriminate",
    "none": "none",
}


def environment(root: Path) -> dict[str, str]:
    """Python, platform, CPU count, package versions, JAX devices and the git commit."""
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
    }
    for pkg in PACKAGES:
        try:
            env[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            env[pkg] = "not installed"
    try:
        import jax

        env["jax devices"] = ", ".join(
            sorted({f"{d.platform}:{d.device_kind}" for d in jax.devices()})
        )
    except Exception as err:  # the report must still be written if JAX cannot start
        env["jax devices"] = f"unavailable ({type(err).__name__})"
    env["git"] = _git(root)
    env["generated"] = datetime.now(UTC).isoformat(timespec="seconds")
    return env


def _git(root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return sha + (" (with uncommitted changes)" if dirty else "")


def verdict_counts(claims: pd.DataFrame) -> dict[str, int]:
    return {v: int((claims["verdict"] == v).sum()) if len(claims) else 0 for v in VERDICTS}


def control_word(control: object) -> str:
    """``failed``, ``held`` or ``none``: the outcome a control column starts with."""
    word = str(control).split(":", 1)[0].strip()
    return word if word in CONTROL_OUTCOMES else "none"


def control_detail(control: object) -> str:
    """The control column without its leading outcome word."""
    text = str(control)
    head, sep, rest = text.partition(":")
    return rest.strip() if sep and head.strip() in CONTROL_OUTCOMES else text


def controls_line(claims: pd.DataFrame) -> str:
    """How many negative controls failed (as they must), held, or were not applicable."""
    words = [control_word(c) for c in claims["control"]] if len(claims) else []
    return (
        f"Negative controls: {words.count('failed')} failed as required, "
        f"{words.count('held')} held (the check could not tell the variant from the claim), "
        f"{words.count('none')} none applicable."
    )


def profiles_line(manifest: dict) -> str:
    """Which profile(s) the experiments in this report ran under."""
    used = sorted({e["profile"] for e in manifest.values()})
    return "Profile: " + ", ".join(PROFILE_NOTE.get(p, p) for p in used) + "."


def _md_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_line(text: object) -> str:
    return str(text).replace("\n", " ")


def markdown(
    claims: pd.DataFrame,
    figures: dict[str, dict],
    manifest: dict,
    env: dict[str, str],
    command: str,
) -> str:
    """REPORT.md: summary, claims table, figures with captions, runs, environment."""
    counts = verdict_counts(claims)
    lines = [
        "# lamb-toolkit report: what reproduced",
        "",
        f"Regenerate with: `{command}`",
        "",
        profiles_line(manifest),
        "",
        f"{len(claims)} claims: "
        + ", ".join(f"{MARK[v]} {counts[v]} {v.replace('_', ' ')}" for v in VERDICTS)
        + ". Verdicts are derived from the tables under `tables/` by each experiment's claim "
        "function, by a rule declared before any run; a claim is never `reproduced` from runs "
        "outside its theorem's hypotheses.",
        "",
        controls_line(claims),
        "",
        "## Claims",
        "",
        "| claim | source | statement | verdict | evidence | control | figure |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in claims.itertuples():
        fig = f"[{r.figure}](figures/{r.figure}.png)" if r.figure in figures else r.figure
        lines.append(
            f"| `{r.claim_id}` | {_md_cell(r.source)} | {_md_cell(r.statement)} | "
            f"{MARK[r.verdict]} {r.verdict} | {_md_cell(r.evidence)} | "
            f"{CONTROL_NOTE[control_word(r.control)]} | {fig} |"
        )
    lines += [
        "",
        "## Rules and controls",
        "",
        "Each claim's rule (declared before the run, with its threshold and the reason for it) "
        "and its negative control: a variant of the check that must fail. `failed` means the "
        "check can tell the variant from the claim; `held` means it cannot, so the verdict says "
        "less than it seems.",
        "",
    ]
    for r in claims.itertuples():
        lines += [
            f"- `{r.claim_id}` ({MARK[r.verdict]} {r.verdict})",
            f"  - Rule: {_md_line(r.rule)}",
            f"  - Control ({control_word(r.control)}): {_md_line(control_detail(r.control))}",
        ]
    lines += ["", "## Figures", ""]
    for name, info in figures.items():
        cited = ", ".join(f"`{c}`" for c in claims[claims["figure"] == name]["claim_id"])
        lines += [f"### {info.get('title', name)}", ""]
        if "files" in info:
            lines += [f"![{name}](figures/{name}.png)", ""]
            lines += [info.get("caption", ""), ""]
            if cited:
                lines += [f"Claims: {cited}.", ""]
        else:
            lines += [f"Not drawn: {info.get('skipped', 'no table')}.", ""]
    lines += [
        "## Experiments run",
        "",
        "| experiment | profile | time | finished | tables |",
        "|---|---|---|---|---|",
    ]
    for name, e in manifest.items():
        lines.append(
            f"| {name} | {e['profile']} | {e['seconds']:.1f} s | {e['finished']} | "
            f"{', '.join(e['tables'])} |"
        )
    lines += ["", "## Environment", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {_md_cell(v)} |" for k, v in env.items()]
    lines.append("")
    return "\n".join(lines)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;
line-height:1.4}table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;
padding:4px 6px;vertical-align:top}th{background:#f3f3f3}img{max-width:100%}
.reproduced{background:#e7f6e7}.partially{background:#fff6d6}.not_reproduced{background:#fbe3e3}
.not_applicable{background:#eee}code{font-size:0.95em}
tr.detail td{font-size:0.85em;color:#444;border-top:none;padding-left:2em}
.held{font-weight:bold;color:#a05a00}"""


def html_report(
    claims: pd.DataFrame,
    figures: dict[str, dict],
    figures_dir: Path,
    manifest: dict,
    env: dict[str, str],
    command: str,
) -> str:
    """report.html: the same content as REPORT.md, figures embedded (base64 PNG)."""
    e = html.escape
    counts = verdict_counts(claims)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>lamb-toolkit report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>lamb-toolkit report: what reproduced</h1>",
        f"<p>Regenerate with: <code>{e(command)}</code></p>",
        f"<p>{e(profiles_line(manifest))}</p>",
        "<p>"
        + e(f"{len(claims)} claims: ")
        + ", ".join(f"{MARK[v]} {counts[v]} {e(v.replace('_', ' '))}" for v in VERDICTS)
        + ".</p>",
        f"<p>{e(controls_line(claims))}</p>",
        "<h2>Claims</h2><p>Under each claim: its rule (declared before the run, with the "
        "threshold's reason) and its negative control, a variant of the check that must fail "
        "(<em>held</em>: the check could not tell the variant from the claim).</p>"
        "<table><tr><th>claim</th><th>source</th><th>statement</th>"
        "<th>verdict</th><th>evidence</th><th>control</th><th>figure</th></tr>",
    ]
    for r in claims.itertuples():
        fig = f"<a href='#fig-{e(r.figure)}'>{e(r.figure)}</a>" if r.figure in figures else ""
        word = control_word(r.control)
        parts.append(
            f"<tr class='{e(r.verdict)}'><td><code>{e(r.claim_id)}</code></td>"
            f"<td>{e(r.source)}</td><td>{e(r.statement)}</td>"
            f"<td>{MARK[r.verdict]} {e(r.verdict)}</td><td>{e(r.evidence)}</td>"
            f"<td class='{e(word)}'>{e(CONTROL_NOTE[word])}</td><td>{fig}</td></tr>"
        )
        parts.append(
            f"<tr class='detail'><td colspan='7'><b>Rule:</b> {e(str(r.rule))}<br>"
            f"<b>Control ({e(word)}):</b> {e(control_detail(r.control))}</td></tr>"
        )
    parts.append("</table><h2>Figures</h2>")
    for name, info in figures.items():
        parts.append(f"<h3 id='fig-{e(name)}'>{e(info.get('title', name))}</h3>")
        png = figures_dir / f"{name}.png"
        if "files" in info and png.exists():
            data = base64.b64encode(png.read_bytes()).decode()
            parts.append(f"<img alt='{e(name)}' src='data:image/png;base64,{data}'>")
            parts.append(f"<p>{e(info.get('caption', ''))}</p>")
        else:
            parts.append(f"<p>Not drawn: {e(str(info.get('skipped', 'no table')))}.</p>")
    parts.append(
        "<h2>Experiments run</h2><table><tr><th>experiment</th><th>profile</th>"
        "<th>time</th><th>finished</th></tr>"
    )
    for name, m in manifest.items():
        parts.append(
            f"<tr><td>{e(name)}</td><td>{e(m['profile'])}</td>"
            f"<td>{m['seconds']:.1f} s</td><td>{e(m['finished'])}</td></tr>"
        )
    parts.append("</table><h2>Environment</h2><table>")
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in env.items()]
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write(
    out: Path,
    claims: pd.DataFrame,
    figures: dict[str, dict],
    manifest: dict,
    command: str,
    root: Path,
) -> None:
    """Write ``REPORT.md`` and ``report.html`` under ``out`` (atomically)."""
    env = environment(root)
    atomic_write_text(out / "REPORT.md", markdown(claims, figures, manifest, env, command))
    atomic_write_text(
        out / "report.html",
        html_report(claims, figures, out / "figures", manifest, env, command),
    )
