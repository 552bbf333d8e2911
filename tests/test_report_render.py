"""report.html as a reader sees it: summary before any figure, a table of contents whose links
resolve, each figure inside its group next to its claims, verdicts as coloured words (no emoji),
the full claims table last and collapsible. Built from small fixture claims and figures; rendered
headless with chromium where it is installed (a screenshot must come out non-trivial)."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from experiments.reproduction import claims as claims_api
from experiments.reproduction import report

# A 1x1 PNG: real image bytes, so a browser draws it.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2273ee70000000049454e44ae426082"
)
EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u2705\u274c\u2796]"
)


def _claims():
    C = claims_api.Claim
    return claims_api.to_frame(
        [
            C("rate_a", "Theorem 2", "bound holds", "reproduced", "3/3 rows", "rate",
              "ratio ≤ 1", "failed: halved bound rejected"),
            C("rate_b", "Theorem 2", "rate decays", "partially", "2/3 rows", "rate",
              "slope ≤ -0.4", "held: swapped comparison passes too"),
            C("lemma_a", "Lemma 1", "bias bounded", "not_reproduced", "0/4 rows", "lemmas",
              "measure ≤ bound", "failed: halved bound rejected"),
            C("conf_x", "toolkit (golden)", "agrees", "reproduced", "2/2 cases", "",
              "every case agrees", "none: external recordings"),
            C("conf_y", "toolkit (golden)", "no cases", "not_applicable", "0 cases", "",
              "every case agrees", "none: external recordings"),
        ]
    )  # fmt: skip


FIGS = {
    "rate": {"files": ["rate.png"], "title": "Rate", "caption": "measured vs bound"},
    "lemmas": {"files": ["lemmas.png"], "title": "Lemmas", "caption": "lemma sides"},
    "orphan": {"files": ["orphan.png"], "title": "Orphan", "caption": "no claim cites it"},
    "skipped": {"skipped": "missing table skipped"},
}
MANIFEST = {"rate": {"profile": "smoke", "seconds": 1.0, "finished": "now", "tables": ["a.csv"]}}


class _Tree(HTMLParser):
    """Elements in document order: (tag, attrs, ancestors' ids/classes, text offset)."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.events: list[tuple[str, dict, list[dict]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.events.append((tag, attrs, [a for _, a in self.stack]))
        if tag not in {"img", "br", "meta", "link"}:
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    (out / "figures").mkdir()
    for name in ("rate", "lemmas", "orphan"):
        (out / "figures" / f"{name}.png").write_bytes(PNG)
    report.write(out, _claims(), FIGS, MANIFEST, "python paper_reproduce.py", out)
    html = (out / "report.html").read_text(encoding="utf-8")
    tree = _Tree()
    tree.feed(html)
    return out, html, tree.events


def _first(events, pred) -> int:
    return next(i for i, ev in enumerate(events) if pred(ev))


def test_summary_and_contents_come_before_the_first_figure(built):
    _, html, events = built
    summary = _first(events, lambda ev: ev[1].get("id") == "summary")
    toc = _first(events, lambda ev: ev[1].get("id") == "toc")
    first_img = _first(events, lambda ev: ev[0] == "img")
    first_table = _first(events, lambda ev: ev[0] == "table")
    assert summary < toc < first_img < first_table
    # the summary counts every verdict and has one linked line per group
    assert "<b>5 claims:</b>" in html
    summary_links = [
        ev[1]["href"] for ev in events[summary:toc] if ev[0] == "a" and "href" in ev[1]
    ]
    groups = report.claim_groups(_claims(), FIGS)
    assert summary_links == [f"#{g.anchor}" for g in groups]
    assert {g.key for g in groups} == {"rate", "lemmas", "conf-claims", "orphan", "skipped"}


def test_every_internal_link_resolves_to_an_id(built):
    _, _, events = built
    ids = [ev[1]["id"] for ev in events if "id" in ev[1]]
    assert len(ids) == len(set(ids)), "duplicate ids"
    hrefs = [ev[1]["href"] for ev in events if ev[0] == "a" and "href" in ev[1]]
    internal = [h for h in hrefs if h.startswith("#")]
    assert internal and all(h[1:] in ids for h in internal)
    assert not [h for h in hrefs if not h.startswith("#")]  # self-contained: nothing external
    srcs = [ev[1].get("src", "") for ev in events if ev[0] in {"img", "script", "link"}]
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)


def test_each_figure_sits_in_its_group_with_its_claims(built):
    _, _, events = built
    for ev in events:
        if ev[0] == "img":
            sections = [a.get("id") for a in ev[2] if a.get("class") == "group"]
            assert sections == [f"group-{ev[1]['alt']}"]
    claims = _claims()
    for r in claims.itertuples():
        i = _first(events, lambda ev, cid=r.claim_id: ev[1].get("id") == f"claim-{cid}")
        group = [a.get("id") for a in events[i][2] if a.get("class") == "group"]
        key = r.figure or "conf-claims"
        assert group == [f"group-{key}"]
    # the group of `rate` holds its figure, then both of its claims, beside each other
    start = _first(events, lambda ev: ev[1].get("id") == "group-rate")
    end = _first(events, lambda ev: ev[1].get("id") == "group-lemmas")
    inside = [ev[1].get("id") or ev[0] for ev in events[start:end]]
    assert inside.index("img") < inside.index("claim-rate_a") < inside.index("claim-rate_b")


def test_verdicts_are_coloured_words_and_no_emoji(built):
    out, html, _ = built
    for v in ("reproduced", "partially", "not_reproduced", "not_applicable"):
        assert f"<span class='verdict {v}'>{v.replace('_', ' ')}</span>" in html
        assert f".verdict.{v}{{background:" in html
    md = (out / "REPORT.md").read_text(encoding="utf-8")
    assert "**reproduced** `rate_a`" in md and "**not reproduced**" in md
    assert not EMOJI.search(html) and not EMOJI.search(md)
    assert "Not drawn: missing table skipped." in html and "No claim cites this figure." in html


def test_full_claims_table_is_last_and_collapsible(built):
    _, html, events = built
    details = _first(events, lambda ev: ev[0] == "details")
    table = _first(events, lambda ev: ev[0] == "table")
    last_claim = max(i for i, ev in enumerate(events) if ev[1].get("class") == "claim")
    assert last_claim < details < table
    assert "Full claims table (5 claims" in html


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="chromium not installed: no headless rendering"
)
def test_report_renders_headless(built, tmp_path):
    out, _, _ = built
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu",
            f"--screenshot={shot}", "--window-size=1280,2000",
            (out / "report.html").as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
