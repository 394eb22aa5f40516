"""Stage two: claim due deliveries with a lease, POST each signed, record every attempt.

Any number of workers, in any number of processes, share one queue: a claim is one UPDATE that sets a
lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and a worker that dies simply lets its leases lapse."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from activities.build import public_view
from activities.httpsig import RequestSigner
from activities.identity import LocalActor
from net.knock import SchemeMemory
from outbox.due import next_due
from outbox.expand import (
    FOLLOWER_PAGE,
    HostTurns,
    ResolveActor,
    UnresolvedRecipient,
    follower_page,
    resolve_targets,
    write_deliveries,
)
from outbox.http import NotSent, Poster, PostFailed, post_signed
from outbox.results import VERDICT_STATE, Claimed, Result, drop_followers_at
from outbox.retry import RetryPolicy, Verdict, parse_retry_after
from outbox.rounds import RESULT_KEYS, Lease, Round, run_round
from outbox.states import DELIVERY, FANOUT, DeliveryState, FanOutState
from outbox.unseen import unseen_write
from outbox.wakeup import listen_for_work
from store.db import Store
from store.models import FanOut, StoredObject
from store.outage import log_round_failed

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass
class DeliveryWorker:
    store: Store
    poster: Poster
    actors: dict[str, LocalActor]
    signers: dict[str, RequestSigner]
    resolve: ResolveActor
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = time.time
    lease: float = 60.0
    max_claimed: int = 256  # claimed and not yet finished: sending, or waiting for a slot of their host
    per_host: int = 8  # in flight to one host
    claim_depth: int = 2  # claimed per host: this many times its cap, the rest waiting for a slot (`_lease`)
    peer_hosts: frozenset[str] = frozenset()  # the cooperating peers' hosts: `per_peer` in flight to each
    per_peer: int = 32
    poll_interval: float = 0.25  # rounds this often while sends are in flight
    safety_poll: float = 30.0  # idle: look at the queue this often even if no wake-up came (a missed NOTIFY)
    listen: bool = True  # wake when another process commits work (outbox/wakeup.py)
    name: str = field(default_factory=lambda: f"worker-{secrets.token_hex(4)}")
    batch: int = 16  # claim and record this many at a time (sooner when idle, or after `poll_interval`)
    knocks: SchemeMemory = field(default_factory=SchemeMemory)  # the signature scheme each origin accepts
    follower_page: int = FOLLOWER_PAGE  # a fan-out's followers are expanded this many inboxes at a time
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _in_flight: dict[str, int] = field(default_factory=dict, init=False)
    _waiting: dict[str, deque[Claimed]] = field(default_factory=dict, init=False)  # claimed, host at its cap
    _stopping: bool = field(default=False, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _results: list[Result] = field(default_factory=list, init=False)
    _host_paused_until: dict[str, float] = field(default_factory=dict, init=False)
    _bodies: OrderedDict[str, asyncio.Future[bytes]] = field(default_factory=OrderedDict, init=False)
    _check_fanouts: bool = field(default=True, init=False)
    _expanding: asyncio.Task[None] | None = field(default=None, init=False)
    _found_fanouts: bool = field(default=False, init=False)
    _sending: dict[int, float] = field(default_factory=dict, init=False)  # delivery id -> when it was claimed
    _fanouts_at: float = field(default=0.0, init=False)
    _claimed_at: float = field(default=0.0, init=False)
    _flushed_at: float = field(default=0.0, init=False)

    def wake(self, fanouts: bool = True) -> None:
        """New work; `fanouts`: a fan-out may be among it (else only delivery rows, claimed at the next round)."""
        if fanouts:
            self._check_fanouts = True
        self._wake.set()

    async def aclose(self) -> None:
        await self.poster.aclose()

    async def run(self) -> None:
        listening = asyncio.create_task(listen_for_work(self.store, self.wake)) if self.listen else None
        try:
            while True:
                try:
                    worked = await self.step()
                    rest = 0.0 if worked else await self._rest()
                except Exception as exc:  # the store away for a moment (a restart): log, wait a round, carry on
                    log_round_failed(log, "delivery round", exc, self.poll_interval)
                    rest = self.poll_interval
                if rest > 0:
                    try:
                        await asyncio.wait_for(self._wake.wait(), rest)
                    except TimeoutError:
                        pass
                    self._wake.clear()
        finally:
            self._stopping = True  # the sends cancelled below must not start the ones waiting behind them
            pending = [*self._tasks, *([self._expanding] if self._expanding else []), *filter(None, [listening])]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            try:  # POSTs that were answered are recorded, not sent again when their leases lapse
                async with asyncio.timeout(5.0):  # but a store that does not answer must not hold up shutdown
                    await self._flush_results()
            except Exception:
                log.exception("recording the last delivery results failed")

    async def _rest(self) -> float:
        """How long to wait for a wake-up after a round that moved nothing: a round's time while sends are in
        flight; when idle, until the next delivery or fan-out falls due (a retry, a lapsed lease), at most
        `safety_poll`. New work rings (`wake()`) and ends the wait at once."""
        if self._tasks or self._results:
            return self.poll_interval
        now = self.clock()
        due = await next_due(self.store, now)
        if due is None:
            return self.safety_poll
        return min(self.safety_poll, max(self.poll_interval, due - now))

    async def step(self) -> bool:
        """One round: record finished sends, expand fan-outs, start new sends. True if anything moved.

        None of those runs for a single finished send: results are recorded and slots refilled `batch` at a
        time, or at once when nothing is in flight, or once `poll_interval` has passed; recording and claiming
        due in the same round share one transaction (a transaction's begin and commit cost about as much CPU as
        its statements). Fan-outs are looked for when `wake()` says one was emitted, or every `poll_interval`,
        in a task of their own: expanding one takes a few transactions and must not hold up the sends."""
        now = time.monotonic()
        idle = not self._tasks
        due = self.poll_interval
        if self._expanding is None and (self._check_fanouts or now - self._fanouts_at >= due):
            self._check_fanouts, self._fanouts_at = False, now
            self._expanding = asyncio.create_task(self._expand_in_background())
        record = bool(self._results) and (idle or len(self._results) >= self.batch or now - self._flushed_at >= due)
        free = self.max_claimed - len(self._sending)
        claim = free > 0 and (idle or free >= self.batch or now - self._claimed_at >= due)
        if record:
            self._flushed_at = now
        if claim:
            self._claimed_at = now
        if not (record or claim):
            return False
        claimed = await self._record_and_claim(free if claim else 0, record)
        for delivery in claimed:
            self._sending[delivery.id] = self.clock()
            if self._in_flight.get(delivery.host, 0) < self._cap(delivery.host):
                self._start(delivery)
            else:
                self._waiting.setdefault(delivery.host, deque()).append(delivery)
        return record or bool(claimed)

    def _start(self, delivery: Claimed) -> None:
        self._in_flight[delivery.host] = self._in_flight.get(delivery.host, 0) + 1
        task = asyncio.create_task(self._send(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _start_waiting(self, host: str) -> None:
        """A slot of `host` is free: the next delivery claimed for it starts now, not at the next round."""
        waiting = self._waiting.get(host)
        if waiting and not self._stopping:
            self._start(waiting.popleft())
            if not waiting:
                del self._waiting[host]

    async def _record_and_claim(self, limit: int, record: bool = True) -> list[Claimed]:
        """Record the finished sends (with `record`) and lease up to `limit` due deliveries, in one transaction.
        When it fails the results are kept for the next round: a POST that was answered is not forgotten."""
        results, self._results = (self._results, []) if record else ([], self._results)
        try:
            now = self.clock()
            rows, attempts, gone = self._outcome(results, now)
            work = Round(self.name, now, rows, attempts, self._lease(limit, now) if limit > 0 else None)
            claimed, found = await run_round(self.store, work, lambda activity_id: activity_id in self._bodies)
        except BaseException:
            self._results[:0] = results
            raise
        for activity_id, data in found.items():  # one not found is looked for again at the send (`_load_body`)
            body: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            body.set_result(_encode(data))
            self._keep_body(activity_id, body)
        if gone:  # what followers pages show changes: an ordinary write
            try:
                async with self.store.write() as session:
                    for delivery in gone:
                        await drop_followers_at(session, self.actors[delivery.actor].followers, delivery.inbox, now)
            except Exception:  # the round is committed: its claimed sends still go; the next 410 drops them
                log.exception("dropping followers whose inbox is gone failed")
        return claimed

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    async def _expand_in_background(self) -> None:
        try:
            self._found_fanouts = await self._expand_fanouts()
        except Exception:  # the store may be briefly away: log, and look again at the next round
            log.exception("expanding fan-outs failed")
            self._found_fanouts = False
        finally:
            self._expanding = None
        if self._found_fanouts:  # their deliveries are due now; there may be more than one round's worth
            self._check_fanouts = True
            self._wake.set()

    async def drain(self, limit_seconds: float = 30.0) -> None:
        """Run until nothing is due or in flight (tests and benchmarks)."""
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            if not self._tasks:
                self._check_fanouts = True  # nothing in flight: look for fan-outs before deciding it is done
            worked = await self.step()
            if self._expanding is not None:  # decide "done" on the fan-outs' outcome, not while they expand
                await self._expanding
                worked = worked or self._found_fanouts
            if not worked and not self._tasks and not self._results:
                return
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)

    async def _expand_fanouts(self) -> bool:
        now = self.clock()
        async with unseen_write(self.store) as session:
            fanouts = list(
                await session.scalars(
                    select(FanOut)
                    .where(
                        FanOut.state == FanOutState.PENDING, FanOut.next_attempt_at <= now, FanOut.locked_until < now
                    )
                    .order_by(FanOut.id)
                    .limit(10)
                    .with_for_update(skip_locked=True)
                )
            )
            for fanout in fanouts:
                fanout.locked_until = now + self.lease
        for fanout in fanouts:
            await self._expand(fanout.id)
        return bool(fanouts)

    async def _expand(self, fanout_id: int) -> None:
        """Followers page by page, each page's rows in a transaction of its own, so that a fan-out to thousands
        holds only a page in memory; another recipient goes with the page of its inbox (one row, all of the
        inbox's recipients), or last. Stopped half way (a crash, a lapsed lease), the fan-out is expanded again
        from the start: the rows written already are kept."""
        async with self.store.read() as session:
            fanout = await session.get(FanOut, fanout_id)
            assert fanout is not None
            actor = self.actors[fanout.actor]
            try:
                targets, followers = await resolve_targets(session, fanout, actor, self.resolve)
                error = None
            except UnresolvedRecipient as exc:
                targets, followers, error = [], False, str(exc)
        after: str | None = None
        turns = HostTurns(self.clock())  # across pages: the n-th row for each host, wherever its page
        while error is None and followers:
            async with self.store.read() as session:
                page, reached = await follower_page(session, actor.followers, after, self.follower_page)
            if not reached:
                break
            after, here = reached[-1], set(reached)
            page += [t for t in targets if (t.shared_inbox or t.inbox) in here]
            targets = [t for t in targets if (t.shared_inbox or t.inbox) not in here]
            async with unseen_write(self.store) as session:
                fanout = await session.get(FanOut, fanout_id)
                assert fanout is not None
                await write_deliveries(session, fanout, page, self.clock(), last=False, turns=turns)
        now = self.clock()
        async with unseen_write(self.store) as session:
            fanout = await session.get(FanOut, fanout_id)
            assert fanout is not None
            if error is None:
                await write_deliveries(session, fanout, targets, now, turns=turns)
            else:
                fanout.attempts += 1
                fanout.last_error = error
                retry_at = self.policy.next_attempt(attempts=fanout.attempts, created_at=fanout.created_at, now=now)
                fanout.state = FANOUT.move(
                    fanout.state, FanOutState.PENDING if retry_at is not None else FanOutState.FAILED
                )
                fanout.next_attempt_at = retry_at or now
                fanout.locked_until = 0.0
                log.warning("fan-out %s: %s", fanout.activity_id, error)

    def _lease(self, limit: int, now: float) -> Lease:
        """Up to `limit` due deliveries, oldest first, at most `claim_depth` times `per_host` claimed per host:
        `per_host` in flight, the others waiting to start the moment one of those is answered. A round's transaction takes
        about as long as a host's sends at its cap (tens of milliseconds under load); claiming only free slots
        left every host idle for most of each round.

        The choice is made in Python from an index scan of the oldest due rows, and the lease is an UPDATE by
        primary key: right after a fan-out writes thousands of rows the planner's statistics are stale, and a
        single statement with a per-host ranking was planned as a nested loop that took 30-60 ms per claim."""
        counts = {h: n + len(self._waiting.get(h, ())) for h, n in self._in_flight.items()}
        busy = [h for h, n in counts.items() if n >= self.claim_depth * self._cap(h)]
        for host, until in list(self._host_paused_until.items()):
            if until > now:
                busy.append(host)
            else:
                del self._host_paused_until[host]

        taken = 0

        def choose(due: Iterable[tuple[int, str]]) -> list[int]:
            nonlocal taken
            chosen: list[int] = []
            for delivery_id, host in due:
                if taken == limit:
                    break
                if delivery_id in self._sending:  # its lease lapsed while this worker is still sending it
                    continue
                if counts.get(host, 0) < self.claim_depth * self._cap(host):
                    counts[host] = counts.get(host, 0) + 1
                    chosen.append(delivery_id)
                    taken += 1
            return chosen

        return Lease(limit, now, now + self.lease, busy, choose)

    def _cap(self, host: str) -> int:
        """How many sends to `host` may be in flight: more for a cooperating peer, whose purchases wait on them."""
        return self.per_peer if host in self.peer_hosts else self.per_host

    async def _body(self, activity_id: str) -> bytes:
        """The activity as sent, loaded once however many sends start at the same moment."""
        body = self._bodies.get(activity_id)
        if body is None:
            body = self._keep_body(activity_id, asyncio.ensure_future(self._load_body(activity_id)))
        if body.done() and not body.exception():
            return body.result()
        try:
            return await asyncio.shield(body)  # one cancelled send must not cancel the load the others wait for
        except Exception:
            self._bodies.pop(activity_id, None)  # the next send tries again
            raise

    def _keep_body(self, activity_id: str, body: asyncio.Future[bytes]) -> asyncio.Future[bytes]:
        self._bodies[activity_id] = body
        while len(self._bodies) > 256:
            self._bodies.popitem(last=False)
        return body

    async def _load_body(self, activity_id: str) -> bytes:
        async with self.store.read() as session:
            row = await session.get(StoredObject, activity_id)
        return _encode(row.data if row else None)

    async def _send(self, delivery: Claimed) -> None:
        started = self.clock()
        t0 = time.perf_counter()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        host_trouble = True
        try:
            body = await self._body(delivery.activity_id)
            paused_until = self._host_paused_until.get(delivery.host, 0.0)
            if paused_until > self.clock():  # a send to the same host was refused (429, 503) since the claim
                self._results.append(Result(delivery, None, None, None, started, 0.0, deferred_until=paused_until))
                return
            # The whole POST must end well inside the lease, counted from the claim: once the lease lapses
            # another worker may claim the delivery and send it again.
            within = self.lease / 2 - (self.clock() - self._sending.get(delivery.id, started))
            if within <= 0:
                raise NotSent("TimeoutError: no time left in the lease")
            signer = self.signers[delivery.actor]
            answer = await post_signed(self.poster, signer, self.knocks, delivery.inbox, body, started, within)
            status = answer.status
            if status >= 300:
                error = answer.text
            retry_after = parse_retry_after(answer.retry_after, self.clock())
        except NotSent as exc:
            error, host_trouble = str(exc)[:500], False
        except PostFailed as exc:
            error = str(exc)[:500]
        except Exception as exc:  # a bug must not leave the delivery leased forever
            log.exception("delivery %s failed", delivery.id)
            error = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            self._sending.pop(delivery.id, None)
            self._in_flight[delivery.host] -= 1
            if not self._in_flight[delivery.host]:
                del self._in_flight[delivery.host]
            self._start_waiting(delivery.host)
        if host_trouble and (status in (429, 503) or status is None):  # pause the host now, not at the flush
            until = self.clock() + min(retry_after or self.policy.base_delay, self.policy.max_delay)
            self._host_paused_until[delivery.host] = max(self._host_paused_until.get(delivery.host, 0.0), until)
        duration = (time.perf_counter() - t0) * 1000
        self._results.append(Result(delivery, status, error, retry_after, started, duration, host_trouble=host_trouble))

    async def _flush_results(self) -> bool:
        if not self._results:
            return False
        await self._record_and_claim(0)
        return True

    def _outcome(self, results: list[Result], now: float) -> tuple[list[Row], list[Row], list[Claimed]]:
        """The rows a round writes for its finished sends (outbox/rounds.py), their attempts, and those whose
        recipients are gone (410)."""
        gone: list[Claimed] = []
        rows: list[Row] = []
        attempts_rows: list[Row] = []
        for result in results:
            delivery = result.delivery
            if result.deferred_until is not None:  # no attempt was made: no attempt counted or recorded
                rows.append(
                    dict.fromkeys(RESULT_KEYS)
                    | {"delivery_id": delivery.id, "counted": False, "next_attempt_at": result.deferred_until}
                )
                continue
            verdict = self.policy.verdict(result.status)
            attempts = delivery.attempts + 1
            next_attempt_at: float | None = None
            if verdict is Verdict.RETRY:
                retry_at = self.policy.next_attempt(
                    attempts=attempts, created_at=delivery.created_at, now=now, retry_after=result.retry_after
                )
                if result.host_trouble and (result.status in (429, 503) or result.status is None):
                    self._host_paused_until[delivery.host] = min(
                        retry_at or now, now + (result.retry_after or self.policy.base_delay)
                    )
                state = DELIVERY.move(
                    DeliveryState.PENDING, DeliveryState.PENDING if retry_at is not None else DeliveryState.FAILED
                )
                next_attempt_at = retry_at or now
            else:
                state = DELIVERY.move(DeliveryState.PENDING, VERDICT_STATE[verdict])
                self._host_paused_until.pop(delivery.host, None)
                if verdict is Verdict.GONE:
                    gone.append(delivery)
            rows.append(
                {
                    "delivery_id": delivery.id,
                    "counted": True,
                    "state": state.value,
                    "attempts": attempts,
                    "last_status": result.status,
                    "last_error": result.error,
                    "next_attempt_at": next_attempt_at,
                }
            )
            attempts_rows.append(
                {
                    "delivery_id": delivery.id,
                    "at": result.started,
                    "status": result.status,
                    "error": result.error,
                    "duration_ms": result.duration,
                }
            )
        return rows, attempts_rows, gone


def _encode(data: dict[str, Any] | None) -> bytes:
    doc: dict[str, Any] = public_view(data) if data else {}
    return json.dumps(doc, separators=(",", ":")).encode()
