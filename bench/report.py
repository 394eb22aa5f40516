"""The report of a run: the markdown table printed at the end, and every figure as JSON in bench/results/."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, cpus
from bench.phases.idle import AFTER_FANOUT_S as AFTER_S

# Issue 16's targets: ratios to same-run yardsticks, a share of one core, MiB, a fraction.
TARGETS = {
    "fanout_ratio": 0.6,
    "inbox_ratio": 0.25,
    "scaling": 1.8,
    "collections_ratio": 1.5,
    "pages_p99_ms": 50.0,
    "idle_cpu_percent": 0.2,
    "idle_mib": 100.0,
    "memory_growth": 0.10,
    "rush_held_per_s": 250.0,
    "rush_held_p99_ms": 1000.0,
    "rush_confirmed_p99_ms": 2000.0,
}


def rush_rows(rush: dict[str, Any] | None) -> list[str]:
    return [row for run in (rush or {}).get("runs", []) for row in rush_run_rows(run)]


PAYMENT = {
    "free": "free tickets: sold at once, nothing to pay",
    "manual": "staff mark the held orders paid",
    "stripe": "each buyer pays by card at localstripe (which waits 1 s before its webhook)",
}


def rush_run_rows(rush: dict[str, Any]) -> list[str]:
    """Two rows per provider: the rush to held seats, and the payments to confirmed ones."""
    after, cpu = rush["after_payment"], rush["cpu"]
    held_fast = rush["seats_held_per_s"] >= TARGETS["rush_held_per_s"]
    held_p99 = rush["buy_to_held_p99_ms"] <= TARGETS["rush_held_p99_ms"]
    paid_p99 = rush["paid_to_confirmed_p99_ms"] <= TARGETS["rush_confirmed_p99_ms"]
    provider = rush["provider"]
    each = rush.get("events_shop_cpu_ms_per_buyer")
    split = f" (events {each[0]:.1f}, shop {each[1]:.1f})" if each else ""
    rows = [
        f"| Ticket rush ({provider}): {rush['buyers']:,} buyers in {rush['arrival_window_s']:g} s for "
        f"{rush['seats']} seats (page, Buy, held) | {rush['seats_held_per_s']:,.0f} seats held/s; Buy → held p50 "
        f"{rush['buy_to_held_p50_ms']:,.0f} ms, p99 {rush['buy_to_held_p99_ms']:,.0f} ms; told sold out p99 "
        f"{rush['buy_to_sold_out_p99_ms']:,.0f} ms; outcomes {rush['outcomes']}; status errors (asked again) "
        f"{rush.get('status_errors') or 'none'}; both peers' CPU "
        f"{rush.get('peers_cpu_ms_per_buyer', 0):.1f} ms per buyer{split}; other load "
        f"{cpu['other_cores']:.1f} cores | {rush['yardstick_signs_per_s']:,.0f} RSA signs/s | "
        f"| ≥ {TARGETS['rush_held_per_s']:.0f}/s: {verdict(held_fast)}; p99 ≤ 1 s: {verdict(held_p99)} |",
    ]
    paid = f"p99 ≤ 2 s: {verdict(paid_p99)}; " if provider != "free" else ""
    confirmed = (
        f"paid → confirmed p50 {rush['paid_to_confirmed_p50_ms']:,.0f} ms, p99 "
        f"{rush['paid_to_confirmed_p99_ms']:,.0f} ms ({rush['paid_outcomes']})"
        if provider != "free"
        else "confirmed at the shop's answer"
    )
    paid_cpu = rush.get("events_shop_cpu_ms_per_paid")
    if paid_cpu:
        confirmed += (
            f"; {rush['paid_per_s']:,.0f} orders paid/s, peers' CPU {sum(paid_cpu):.1f} ms per order (events "
            f"{paid_cpu[0]:.1f}, shop {paid_cpu[1]:.1f})"
        )
    rows.append(
        f"| Ticket rush ({provider}): {PAYMENT[provider]} | {confirmed} | events sold {after['events_sold']}, "
        f"held {after['events_held']}; shop tickets {after['shop_tickets']}, held {after['shop_held']} | "
        f"| {paid}exactly {rush['seats']} sold on both, the rest told sold out or waiting: "
        f"{verdict(rush['exact'])} |"
    )
    return rows


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
                f"| ≥ {TARGETS['fanout_ratio']}: {verdict(min(ratio, cpu_ratio or 0) >= TARGETS['fanout_ratio'])}{scaling} |"
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
            f"| ≥ {TARGETS['inbox_ratio']}: {verdict(min(inbox['ratio'], inbox['cpu_ratio']) >= TARGETS['inbox_ratio'])} |"
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
    rows += rush_rows(results.get("rush"))
    col = results.get("collections")
    if col:
        rows.append(
            f"| Collection of {col['items']:,}: page 1,000 vs first page | {col['page1000_p50_ms']:.2f} ms "
            f"(p99 {col['page1000_p99_ms']:.2f}) | first page {col['first_p50_ms']:.2f} ms "
            f"(p99 {col['first_p99_ms']:.2f}) | {col['ratio']:.2f} | near 1: {verdict(col['ratio'] <= 1.5)} |"
        )
    rows += pages_rows(results.get("pages"))
    rows += idle_rows(results.get("idle"))
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


def pages_rows(pages: dict[str, Any] | None) -> list[str]:
    """/calendars and the blog's index under concurrent readers, against the p99 target."""
    if not pages:
        return []
    rows = []
    for kind, what in (
        ("events", f"/calendars with {pages['event_count']} events"),
        ("blog", f"blog index, {pages['post_count']:,} posts"),
    ):
        p = pages[kind]
        ok = p["p99_ms"] <= TARGETS["pages_p99_ms"] and set(p["statuses"]) == {"200"}
        rows.append(
            f"| Page: {what}, {pages['concurrency']} readers | {p['rate']:,.0f} pages/s, p50 {p['p50_ms']:.1f} ms, "
            f"p99 {p['p99_ms']:.1f} ms; {p['server_cpu_ms_per_request']:.2f} ms server CPU per page; other load "
            f"{p['cpu']['other_cores']:.1f} cores | statuses {p['statuses']} | "
            f"| p99 ≤ {TARGETS['pages_p99_ms']:.0f} ms: {verdict(ok)} |"
        )
    return rows


def idle_rows(idle: dict[str, Any] | None) -> list[str]:
    """The idle peers' CPU and memory, and the events peer's memory after a fan-out, each against its target."""
    if not idle:
        return []
    cpu, mib, fan = idle["cpu"], idle["idle_mib"], idle["fanout"]
    kinds = [k for k in cpu if k != "window_s"]
    worst = max(cpu[k]["cpu_percent"] for k in kinds)
    each = ", ".join(f"{k} {cpu[k]['cpu_percent']:.3f} %" for k in kinds)
    backends = ", ".join(f"{k} {cpu[k]['postgres_cpu_percent']:.3f} %" for k in kinds)
    growth = fan["growth"] or 0.0
    return [
        f"| Idle peer, CPU over {cpu['window_s']:.0f} s | {each} of one core | its PostgreSQL backends: {backends} "
        f"| | ≤ {TARGETS['idle_cpu_percent']} %: {verdict(worst <= TARGETS['idle_cpu_percent'])} |",
        "| Idle peer, resident memory | " + ", ".join(f"{k} {v:.0f} MiB" for k, v in mib.items()) + " | | "
        f"| ≤ {TARGETS['idle_mib']:.0f} MiB: {verdict(max(mib.values()) <= TARGETS['idle_mib'])} |",
        f"| Events peer after a fan-out to {fan['followers']:,} followers ({fan['delivered']:,}/{fan['inboxes']:,} "
        f"inboxes), {AFTER_S} s later | {fan['events_after_mib']:.0f} MiB (at once: {fan['events_right_after_mib']:.0f}"
        f", peak {fan['events_peak_mib']:.0f}) | before: {fan['events_before_mib']:.0f} MiB | {1 + growth:.2f} "
        f"| ≤ {1 + TARGETS['memory_growth']:.2f}: {verdict(growth <= TARGETS['memory_growth'])} |",
    ]


def write_results(results: dict[str, Any], quick: bool) -> Path:
    """<started>[-quick].json and latest.json, with the table in them; the first one's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{results['started']}{'-quick' if quick else ''}.json"
    out.write_text(json.dumps(results, indent=2))
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    return out
