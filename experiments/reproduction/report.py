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
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.cache import atomic_write_text
from experiments.reproduction.claims import CONTROL_OUTCOMES, VERDICTS

PROFILE_NOTE = {
    "smoke": "smoke (CI sizes: a check that everything runs; its verdicts are not evidence)",
    "default": "default (laptop scale)",
    "full": "full (paper-like sizes)",
}
PACKAGES = ("numpy", "scipy", "jax", "jaxlib", "optax", "sympy", "pandas", "matplotlib")
# Verdicts are shown as words (coloured labels in the HTML), never as emoji: emoji render as empty
# boxes where no emoji font is installed.
VERDICT_WORD = {v: v.replace("_", " ") for v in VERDICTS}
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


@dataclass
class Group:
    """Claims shown together: those citing one figure, or (no figure) one experiment's prefix."""

    key: str
    title: str
    figure: str | None  # a key of ``figures`` when the group has one
    claims: pd.DataFrame

    @property
    def anchor(self) -> str:
        return "group-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.key)


def _has_figure(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def claim_groups(claims: pd.DataFrame, figures: dict[str, dict]) -> list[Group]:
    """Claims grouped by the figure they cite (in the order claims.csv first mentions it), claims
    without a figure by their id's first word (``conformance_keras`` -> ``conformance``); then
    figures no claim cites, each a group of its own."""
    keys: dict[str, list[int]] = {}
    for i, r in enumerate(claims.itertuples()):
        key = r.figure if _has_figure(r.figure) else str(r.claim_id).split("_", 1)[0]
        keys.setdefault(("fig:" if _has_figure(r.figure) else "exp:") + key, []).append(i)
    out = []
    for tagged, rows in keys.items():
        kind, key = tagged.split(":", 1)
        if kind == "fig":
            title = figures.get(key, {}).get("title", key)
            out.append(Group(key, title, key, claims.iloc[rows]))
        else:
            out.append(Group(f"{key}-claims", f"{key}: claims without a figure", None,
                             claims.iloc[rows]))  # fmt: skip
    cited = {g.figure for g in out}
    for name, info in figures.items():
        if name not in cited:
            out.append(Group(name, info.get("title", name), name, claims.iloc[:0]))
    return out


def counts_text(claims: pd.DataFrame) -> str:
    """``3 reproduced, 1 partially`` (verdicts with no claim left out); ``no claims`` if none."""
    counts = verdict_counts(claims)
    parts = [f"{counts[v]} {VERDICT_WORD[v]}" for v in VERDICTS if counts[v]]
    return ", ".join(parts) or "no claims"


def _md_anchor(group: Group) -> str:
    return f'<a id="{group.anchor}"></a>'


def markdown(
    claims: pd.DataFrame,
    figures: dict[str, dict],
    manifest: dict,
    env: dict[str, str],
    command: str,
    workloads: pd.DataFrame | None = None,
) -> str:
    """REPORT.md: summary by group, the large-batch workloads (``workloads``: the table
    ``lb_workloads``, if it was written), then per group its figure and claims, then the full
    claims table, rules and controls, runs, environment. Verdicts as bold words, no emoji."""
    counts = verdict_counts(claims)
    groups = claim_groups(claims, figures)
    lines = [
        "# lamb-toolkit report: what reproduced",
        "",
        f"Regenerate with: `{command}`",
        "",
        profiles_line(manifest),
        "",
        "## Summary",
        "",
        f"{len(claims)} claims: "
        + ", ".join(f"**{VERDICT_WORD[v]}** {counts[v]}" for v in VERDICTS)
        + ". Verdicts are derived from the tables under `tables/` by each experiment's claim "
        "function, by a rule declared before any run; a claim is never `reproduced` from runs "
        "outside its theorem's hypotheses.",
        "",
        controls_line(claims),
        "",
        "By group (one figure and the claims it shows):",
        "",
    ]
    lines += [f"- [{_md_line(g.title)}](#{g.anchor}): {counts_text(g.claims)}" for g in groups]
    rows = workload_rows(workloads)
    if rows:
        lines += ["", "## Large-batch workloads", "", WORKLOADS_INTRO, ""]
        lines += ["| " + " | ".join(WORKLOAD_HEADER) + " |", "|" + "---|" * len(WORKLOAD_HEADER)]
        lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    lines += ["", "## Groups", ""]
    for g in groups:
        lines += [_md_anchor(g), f"### {_md_line(g.title)}", ""]
        info = figures.get(g.figure, {}) if g.figure else {}
        if g.figure and "files" in info:
            lines += [f"![{g.figure}](figures/{g.figure}.png)", "", info.get("caption", ""), ""]
        elif g.figure:
            lines += [f"Not drawn: {info.get('skipped', 'no table')}.", ""]
        for r in g.claims.itertuples():
            lines += [
                f"- **{VERDICT_WORD[r.verdict]}** `{r.claim_id}`: {_md_line(r.statement)} "
                f"({_md_line(r.source)})",
                f"  - Evidence: {_md_line(r.evidence)}",
            ]
        if len(g.claims):
            lines.append("")
    lines += [
        "## Claims",
        "",
        "| claim | source | statement | verdict | evidence | control | figure |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in claims.itertuples():
        fig = f"[{r.figure}](figures/{r.figure}.png)" if r.figure in figures else r.figure
        fig = fig if _has_figure(fig) else ""
        lines.append(
            f"| `{r.claim_id}` | {_md_cell(r.source)} | {_md_cell(r.statement)} | "
            f"**{VERDICT_WORD[r.verdict]}** | {_md_cell(r.evidence)} | "
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
            f"- `{r.claim_id}` (**{VERDICT_WORD[r.verdict]}**)",
            f"  - Rule: {_md_line(r.rule)}",
            f"  - Control ({control_word(r.control)}): {_md_line(control_detail(r.control))}",
        ]
    lines += [
        "",
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


_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1400px;
margin:2em auto;padding:0 1em;line-height:1.45;color:#1f2328}
table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:4px 6px;
vertical-align:top}th{background:#f3f3f3;text-align:left}img{max-width:100%;height:auto}
code{font-size:0.95em}a{color:#0550ae}
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;font-size:0.85em;
font-weight:600;white-space:nowrap;border:1px solid transparent}
.verdict.reproduced{background:#1a7f37;color:#fff}
.verdict.partially{background:#f2c94c;color:#3d2e00;border-color:#b58900}
.verdict.not_reproduced{background:#cf222e;color:#fff}
.verdict.not_applicable{background:#6e7781;color:#fff}
tr.reproduced{background:#e7f6e7}tr.partially{background:#fff6d6}
tr.not_reproduced{background:#fbe3e3}tr.not_applicable{background:#eee}
tr.detail td{font-size:0.85em;color:#444;border-top:none;padding-left:2em}
.held{font-weight:bold;color:#a05a00}
#summary{background:#f6f8fa;border:1px solid #d0d7de;border-radius:8px;padding:0.5em 1.2em}
#summary ul,nav ul{margin:0.3em 0;padding-left:1.4em}#summary li{margin:0.15em 0}
.counts .verdict{margin-right:0.4em}
section.group{border-top:2px solid #d0d7de;margin-top:2em;padding-top:0.5em}
.grouprow{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.grouprow figure{flex:3 1 560px;margin:0;position:sticky;top:0.5em}.grouprow .claims{flex:2 1 380px}
figcaption{font-size:0.9em;color:#444;margin-top:0.3em}
.claim{border:1px solid #d0d7de;border-radius:6px;padding:0.5em 0.8em;margin-bottom:0.8em}
.claim p{margin:0.3em 0}.claim .meta{font-size:0.85em;color:#444}
details{margin:1em 0}summary{cursor:pointer;font-weight:600}"""


WORKLOADS_INTRO = (
    "Each large-batch workload's size, measured gradient noise scale b_noise (median over seeds "
    "of the median simple noise scale B_simple = tr Σ/‖G‖² along a reference run; interval over "
    "seeds) and the batch range of the experiments run on it (table `lb_workloads`). A batch "
    "above b_noise is large for that workload."
)
WORKLOAD_HEADER = (
    "workload", "data", "n_train", "b_noise [seeds]", "batches", "steps at b_max", "seeds",
    "experiments", "goals",
)  # fmt: skip


def workload_rows(table: pd.DataFrame | None) -> list[tuple[str, ...]]:
    """The workloads table's rows as text cells (:data:`WORKLOAD_HEADER`); [] without one."""
    if table is None or table.empty:
        return []

    def num(x) -> str:
        try:
            v = float(x)
        except (TypeError, ValueError):
            return str(x)
        return "–" if not np.isfinite(v) else f"{v:.0f}"

    out = []
    for _, r in table.iterrows():
        goals = [g for g in ("data", "span", "steps", "seeds")
                 if str(r.get(f"goal_{g}", "")).lower() != "true"]  # fmt: skip
        out.append(
            (
                str(r["workload"]),
                str(r.get("description", "")),
                str(r["n_train"]),
                f"{num(r['b_noise'])} [{num(r['b_noise_lo'])}, {num(r['b_noise_hi'])}]",
                "none" if num(r["b_max"]) == "–" else f"{num(r['b_min'])}–{num(r['b_max'])}",
                num(r["steps_at_b_max"]),
                num(r["seeds"]),
                str(r.get("experiments", "")) if pd.notna(r.get("experiments")) else "",
                "met" if not goals else "not met: " + ", ".join(goals),
            )
        )
    return out


def _workloads_html(table: pd.DataFrame | None) -> str:
    rows = workload_rows(table)
    if not rows:
        return ""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in WORKLOAD_HEADER)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return (
        f"<section id='workloads'><h2>Large-batch workloads</h2><p>{e(WORKLOADS_INTRO)}</p>"
        f"<table><tr>{head}</tr>{body}</table></section>"
    )


def _badge(verdict: str) -> str:
    v = html.escape(verdict)
    return f"<span class='verdict {v}'>{html.escape(VERDICT_WORD.get(verdict, verdict))}</span>"


def _badges(claims: pd.DataFrame) -> str:
    counts = verdict_counts(claims)
    return " ".join(f"{_badge(v)} {counts[v]}" for v in VERDICTS if counts[v]) or "no claims"


def html_report(
    claims: pd.DataFrame,
    figures: dict[str, dict],
    figures_dir: Path,
    manifest: dict,
    env: dict[str, str],
    command: str,
    workloads: pd.DataFrame | None = None,
) -> str:
    """report.html: summary, table of contents, the large-batch workloads, then per group its
    figure (base64 PNG) beside its claims, then the full claims table (collapsible), runs and
    environment."""
    e = html.escape
    counts = verdict_counts(claims)
    groups = claim_groups(claims, figures)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>lamb-toolkit report</title><style>{_CSS}</style></head><body>",
        "<h1>lamb-toolkit report: what reproduced</h1>",
        "<section id='summary'><h2>Summary</h2>",
        f"<p class='counts'><b>{len(claims)} claims:</b> "
        + " ".join(f"{_badge(v)} {counts[v]}" for v in VERDICTS)
        + "</p>",
        f"<p>{e(controls_line(claims))}</p><ul>",
    ]
    parts += [
        f"<li><a href='#{g.anchor}'>{e(g.title)}</a>: {_badges(g.claims)}</li>" for g in groups
    ]
    parts += [
        "</ul>",
        f"<p>{e(profiles_line(manifest))} Regenerate with: <code>{e(command)}</code></p>",
        "<p>Verdicts are derived from the tables under <code>tables/</code> by rules declared "
        "before any run; each claim shows its rule and its negative control, a variant of the "
        "check that must fail (<em>held</em>: the check could not tell the variant from the "
        "claim, so the verdict says less than it seems).</p></section>",
        _workloads_html(workloads),
        "<nav id='toc'><h2>Contents</h2><ol>",
        "<li><a href='#summary'>Summary</a></li>",
        "<li><a href='#groups'>Claims by figure</a><ol>",
    ]
    parts += [f"<li><a href='#{g.anchor}'>{e(g.title)}</a></li>" for g in groups]
    parts += [
        "</ol></li>",
        "<li><a href='#all-claims'>All claims (table)</a></li>",
        "<li><a href='#runs'>Experiments run</a></li>",
        "<li><a href='#environment'>Environment</a></li>",
        "</ol></nav>",
        "<h2 id='groups'>Claims by figure</h2>",
    ]
    for g in groups:
        parts.append(f"<section class='group' id='{g.anchor}'><h3>{e(g.title)}</h3>")
        parts.append("<div class='grouprow'>")
        if g.figure:
            info = figures.get(g.figure, {})
            png = figures_dir / f"{g.figure}.png"
            parts.append(f"<figure id='fig-{e(g.figure)}'>")
            if "files" in info and png.exists():
                data = base64.b64encode(png.read_bytes()).decode()
                parts.append(f"<img alt='{e(g.figure)}' src='data:image/png;base64,{data}'>")
                parts.append(f"<figcaption>{e(info.get('caption', ''))}</figcaption>")
            else:
                parts.append(f"<p>Not drawn: {e(str(info.get('skipped', 'no table')))}.</p>")
            parts.append("</figure>")
        parts.append("<div class='claims'>")
        for r in g.claims.itertuples():
            word = control_word(r.control)
            parts.append(
                f"<div class='claim' id='claim-{e(r.claim_id)}'>"
                f"<p>{_badge(r.verdict)} <code>{e(r.claim_id)}</code></p>"
                f"<p>{e(r.statement)}</p>"
                f"<p><b>Evidence:</b> {e(r.evidence)}</p>"
                f"<p class='meta'><b>Rule:</b> {e(str(r.rule))}</p>"
                f"<p class='meta'><b>Control (<span class='{e(word)}'>{e(word)}</span>):</b> "
                f"{e(control_detail(r.control))}</p>"
                f"<p class='meta'><b>Source:</b> {e(r.source)}</p></div>"
            )
        if not len(g.claims):
            parts.append("<p>No claim cites this figure.</p>")
        parts.append("</div></div></section>")
    parts += [
        "<h2 id='all-claims'>All claims</h2>",
        f"<details><summary>Full claims table ({len(claims)} claims, with rules and "
        "controls)</summary>",
        "<table><tr><th>claim</th><th>source</th><th>statement</th>"
        "<th>verdict</th><th>evidence</th><th>control</th><th>figure</th></tr>",
    ]
    for r in claims.itertuples():
        fig = f"<a href='#fig-{e(r.figure)}'>{e(r.figure)}</a>" if r.figure in figures else ""
        word = control_word(r.control)
        parts.append(
            f"<tr class='{e(r.verdict)}'><td><code>{e(r.claim_id)}</code></td>"
            f"<td>{e(r.source)}</td><td>{e(r.statement)}</td>"
            f"<td>{_badge(r.verdict)}</td><td>{e(r.evidence)}</td>"
            f"<td class='{e(word)}'>{e(CONTROL_NOTE[word])}</td><td>{fig}</td></tr>"
        )
        parts.append(
            f"<tr class='detail'><td colspan='7'><b>Rule:</b> {e(str(r.rule))}<br>"
            f"<b>Control ({e(word)}):</b> {e(control_detail(r.control))}</td></tr>"
        )
    parts.append("</table></details>")
    parts.append(
        "<h2 id='runs'>Experiments run</h2><table><tr><th>experiment</th><th>profile</th>"
        "<th>time</th><th>finished</th></tr>"
    )
    for name, m in manifest.items():
        parts.append(
            f"<tr><td>{e(name)}</td><td>{e(m['profile'])}</td>"
            f"<td>{m['seconds']:.1f} s</td><td>{e(m['finished'])}</td></tr>"
        )
    parts.append("</table><h2 id='environment'>Environment</h2><table>")
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
    path = out / "tables" / "lb_workloads.csv"
    workloads = pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.exists() else None
    atomic_write_text(
        out / "REPORT.md", markdown(claims, figures, manifest, env, command, workloads)
    )
    atomic_write_text(
        out / "report.html",
        html_report(claims, figures, out / "figures", manifest, env, command, workloads),
    )
