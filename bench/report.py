"""The report of a run: the markdown table printed at the end, and every figure as JSON in bench/results/."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, cpus

TARGETS = {"fanout_ratio": 0.7, "inbox_ratio": 0.5, "scaling": 1.8, "collections_ratio": 1.5}


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(cpus()),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def table(results: dict[str, Any]) -> str:
    m, rsa_ = results["machine"], results["rsa"]
    rows = [
        "| Measure | Result | Yardstick (same run) | Ratio | Target |",
        "| --- | --- | --- | --- | --- |",
        f"| RSA-2048 sign, one core | {rsa_['signs_per_s']:,.0f}/s ({rsa_['sign_ms']:.3f} ms) | | | |",
        f"| RSA-2048 verify, one core | {rsa_['verifies_per_s']:,.0f}/s ({rsa_['verify_ms']:.3f} ms) | | | |",
    ]
    fanout = results.get("fanout")
    if fanout:
        one = None
        for r in fanout["runs"]:
            signs = r.get("signs_per_s_adjacent") or rsa_["signs_per_s"]
            ratio = r["deliveries_per_s"] / (signs * r["workers"])
            r["ratio"] = round(ratio, 3)
            if r["label"].startswith("1 worker"):
                one = r
            scaling = ""
            if r["workers"] == 2 and one:
                r["scaling"] = round(r["deliveries_per_s"] / one["deliveries_per_s"], 2)
                scaling = f"; x{r['scaling']} vs 1 process ({verdict(r['scaling'] >= TARGETS['scaling'])})"
            cpu_ratio = r.get("cpu_ratio")
            rows.append(
                f"| Fan-out, {r['label']} ({fanout['followers']:,} followers → {r['expected']:,} inboxes) "
                f"| {r['deliveries_per_s']:,.0f} deliveries/s ({r['deliveries']:,}/{r['expected']:,} recorded); "
                f"{r['worker_cpu_ms_per_delivery']:.2f} ms CPU per delivery; other load {r['cpu']['other_cores']:.1f} "
                f"cores | {signs:,.0f} signs/s x {r['workers']}; sign {r['sign_cpu_ms_adjacent']:.2f} ms CPU "
                f"| {ratio:.2f} (CPU: {cpu_ratio:.2f}) "
                f"| ≥ 0.7: {verdict(min(ratio, cpu_ratio or 0) >= TARGETS['fanout_ratio'])}{scaling} |"
            )
    inbox = results.get("inbox")
    if inbox:
        b, p = inbox["bare"], inbox["peer"]
        rows.append(
            f"| Inbox ingest, signed Create, {inbox['concurrency']} clients (blog) | {p['rate']:,.0f} accepted/s, "
            f"p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms; every 202 stored: {p['every_202_stored']}; "
            f"{p['server_cpu_ms_per_request']:.2f} ms server CPU per request; other load "
            f"{p['cpu']['other_cores']:.1f} cores "
            f"| bare Starlette 202: {b['rate']:,.0f}/s, p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms; "
            f"{b['server_cpu_ms_per_request']:.2f} ms CPU per request "
            f"| {inbox['ratio']:.2f} (CPU: {inbox['cpu_ratio']:.2f}) "
            f"| ≥ 0.5: {verdict(min(inbox['ratio'], inbox['cpu_ratio']) >= TARGETS['inbox_ratio'])} |"
        )
        c = inbox["loadgen_ceiling"]
        rows.append(
            f"| Load generator ceiling (vs raw sink) | {c['rate']:,.0f} req/s | its CPU share during the peer run: "
            f"{p['cpu_share']:.0%} | | not the limit: {verdict(c['rate'] > 1.5 * b['rate'])} |"
        )
    purchases = results.get("purchases")
    if purchases:
        pu = purchases
        rows.append(
            f"| Purchases, {pu['buyers']} concurrent buyers (buy → Offer → Accept → confirmed) "
            f"| {pu['purchases_per_s']:,.1f}/s, p50 {pu['p50_ms']:,.0f} ms, p99 {pu['p99_ms']:,.0f} ms as the buyer "
            f"saw it (confirmed in the store: p50 {pu['server_p50_ms']:,.0f} ms, p99 {pu['server_p99_ms']:,.0f} ms); "
            f"{pu['client_gave_up']} buyers stopped waiting after 60 s "
            f"| sold {pu['sold']} = orders {pu['orders']} = confirmed {pu['purchases_confirmed']} = bought "
            f"{pu['bought']} | | sold = orders: {verdict(pu['consistent'])} |"
        )
    col = results.get("collections")
    if col:
        rows.append(
            f"| Collection of {col['items']:,}: page 1,000 vs first page | {col['page1000_p50_ms']:.2f} ms "
            f"(p99 {col['page1000_p99_ms']:.2f}) | first page {col['first_p50_ms']:.2f} ms "
            f"(p99 {col['first_p99_ms']:.2f}) | {col['ratio']:.2f} | near 1: {verdict(col['ratio'] <= 1.5)} |"
        )
    mem = results.get("memory")
    if mem:
        after_workers = ", ".join(f"{v:.0f}" for v in mem.get("events_worker_after_fanout_mib", []))
        rows.append(
            f"| Resident memory, idle | blog {mem.get('blog_idle_mib', 0):.0f} MiB, events "
            f"{mem.get('events_idle_mib', 0):.0f} MiB, shop {mem.get('shop_idle_mib', 0):.0f} MiB | | | |"
        )
        rows.append(
            f"| Resident memory after a fan-out to {results['sizes']['followers']:,} followers | events "
            f"{mem.get('events_after_fanout_mib', 0):.0f} MiB, blog {mem.get('blog_after_fanout_mib', 0):.0f} MiB "
            f"(worker processes {after_workers} MiB); shop after purchases "
            f"{mem.get('shop_after_purchases_mib', 0):.0f} MiB | | | |"
        )
    header = (
        f"Machine: {m['nproc']} x {m['cpu_model']} ({m['cpus_usable']} usable), Python {m['python']}, "
        f"PostgreSQL on loopback; {results['mode']} run of {results['elapsed_s']:.0f} s. Ratios: wall-clock rate over "
        "the yardstick measured next to it, and in brackets the same from CPU time (robust to other load on the "
        "machine, which is shown per row); a target is met when both reach it."
    )
    return header + "\n\n" + "\n".join(rows)


def write_results(results: dict[str, Any], quick: bool) -> Path:
    """<started>[-quick].json and latest.json, with the table in them; the first one's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{results['started']}{'-quick' if quick else ''}.json"
    out.write_text(json.dumps(results, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    return out
