"""A run's health on its view: a badge, the findings with their figures and remedies, and the chart
markers where each began. Read from the run folder's health.jsonl (training/runfolder/health.py writes it)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from app.markdown_escape import escape, escape_keeping_code
from training.runfolder.health import TITLES, active_findings, findings, health_line
from training.runfolder.folder import RunFolder

# The chart columns each kind of finding is about, so its marker goes on the charts that show it.
COLUMNS = {"d_overpowering": ("d_real", "d_fake", "grad_norm_g"), "oscillating": ("loss_d", "loss_g"),
           "exploding": ("loss_d", "loss_g", "wasserstein"), "mode_collapse": ("grid_diversity",),
           "no_progress": ("fid",), "divergence": ("loss_d", "loss_g")}


def badge(run: RunFolder, status: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """Red with the active findings, green when the monitor watched and found nothing (or all cleared),
    nothing for a run that was never watched (health_check off, or older than the monitor)."""
    active = active_findings(events)
    if active:
        st.badge(f"Health: {health_line(events)}", icon=":material/monitor_heart:", color="red")
    elif events or status.get("health"):
        st.badge(f"Health: {health_line(events) if events else status['health']}", icon=":material/favorite:",
                 color="green")


def markers(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One marker a finding: the step it began, a short label, and the chart columns it concerns."""
    found = []
    for finding in findings(events):
        series = finding.get("evidence", {}).get("series")
        columns = (series,) if series else COLUMNS.get(finding.get("kind"), ())
        found.append({"step": finding["step"], "label": TITLES.get(finding.get("kind"), str(finding.get("kind"))),
                      "columns": columns})
    return found


def details(events: list[dict[str, Any]], key: str) -> None:
    """Every finding, the active ones open: when it began, what the figures were, what to try."""
    found = findings(events)
    if not found:
        return
    active_signs = {f["sign"] for f in active_findings(events)}
    with st.expander(f"Health findings ({len(found)})", expanded=bool(active_signs), icon=":material/stethoscope:"):
        for finding in found:
            still = finding["sign"] in active_signs
            title = finding["title"][:1].upper() + finding["title"][1:]  # "D overpowering G", not "...g"
            st.markdown(f"**{escape(title)}** from step {escape(finding['step'])} (seen at step "
                        f"{escape(finding['found_at'])}){'' if still else ' · cleared since'}: {escape(finding['summary'])}.")
            evidence = {k: v for k, v in finding.get("evidence", {}).items() if not isinstance(v, (list, dict))}
            if evidence:
                st.caption(escape(" · ".join(f"{k} {v}" for k, v in evidence.items())))
            for item in finding.get("evidence", {}).get("preceded_by", []):
                st.caption(f"before it: {escape(item)}")
            if finding.get("remedies"):
                st.markdown("Try: " + "; ".join(escape_keeping_code(r) for r in finding["remedies"][:4]))
