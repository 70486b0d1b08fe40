"""The audit log as a transparency log: the sealer, signed checkpoints, proofs and verification.

Sealing (`seal`, every AUDIT_SEAL_SECONDS in the scheduler, and `flask tracker audit seal`):

- Only the sealer takes a lock (PostgreSQL: an advisory lock, tried not waited for, so a twin
  sealer returns at once; SQLite: its BEGIN IMMEDIATE write lock). Writers never wait for it.
- Leaf order: each run takes the events that are committed and unsealed at that moment, in id
  order, and numbers them after the last leaf. The order is fixed once, when an event is
  sealed, and stored (leaf_index): it never depends on when a later transaction commits. An
  id that commits late (a long transaction took its id first) is not waited for: it is sealed
  by the next run after its commit, after leaves with higher ids. An id lost to a rollback
  never reaches the table, so it is never a leaf; ids may have gaps, leaf indices never do.
- The merge delay (longest time from an event's commit to its seal) is therefore at most one
  interval plus one run: MMD = 2 x AUDIT_SEAL_SECONDS while a run takes less than an interval.
- Work follows new events: the unsealed events come from a partial index holding only them,
  the tree's right edge (its compact range, at most log2(n) stored perfect subtrees) is read,
  new leaves are folded onto it, and only the perfect subtrees they complete are inserted.

Each run signs a checkpoint (C2SP tlog-checkpoint in a signed note), stores it, and appends it to
AUDIT_CHECKPOINT_LOG, a file outside the database that verification compares against.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Row, select, update

from tracker import clock, database
from tracker.extensions import db
from tracker.models import AlertKind, AuditCheckpoint, AuditEvent, AuditNode, Person, Role
from tracker.services import audit, locks, settings, signing, workdays
from tracker.services.merkle import Frontier, Tree
from tracker.verify_pack import (
    SIGNATURE_PREFIX,
    Checkpoint,
    NoteError,
    VerifierKey,
    content_commitment,
    open_checkpoint,
    verify_consistency,
)

SEAL_LOCK = "audit_seal"


def signer() -> signing.Signer:
    return signing.load(settings.get("AUDIT_SIGNING_KEY_FILE"))


def verifier_key() -> VerifierKey:
    return signer().verifier_key


# --- The stored tree ----------------------------------------------------------------------


def _perfect(level: int, index: int) -> bytes:
    if level == 0:
        value = db.session.scalar(
            select(AuditEvent.leaf_hash).where(AuditEvent.leaf_index == index)
        )
        if value is None:
            raise LookupError(f"leaf {index} is missing")
        return bytes.fromhex(value)
    value = db.session.scalar(
        select(AuditNode.hash).where(AuditNode.level == level, AuditNode.index == index)
    )
    if value is None:
        raise LookupError(f"tree node {level}/{index} is missing")
    return bytes(value)


def stored_tree(size: int, cache: dict[tuple[int, int], bytes] | None = None) -> Tree:
    cache = {} if cache is None else cache

    def perfect(level: int, index: int) -> bytes:
        if (level, index) not in cache:
            cache[(level, index)] = _perfect(level, index)
        return cache[(level, index)]

    return Tree(size, perfect)


def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
    )


# --- Sealing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealResult:
    sealed: int
    tree_size: int
    checkpoints: list[str]

    def as_dict(self) -> dict:
        return {"sealed": self.sealed, "tree_size": self.tree_size}


def seal(batch: int | None = None) -> SealResult:
    """Seal every committed unsealed event, `batch` at a time (a checkpoint per batch)."""
    batch = batch or settings.get("AUDIT_SEAL_BATCH")
    sealed, notes, size = 0, [], 0
    while True:
        result = _seal_batch(batch)
        if result is None:
            break
        count, size, note = result
        sealed += count
        notes.append(note)
        _append_to_log([note])
        if count < batch:
            break
    if not notes:
        latest = latest_checkpoint()
        size = latest.tree_size if latest else 0
        db.session.rollback()
    return SealResult(sealed, size, notes)


def _seal_batch(batch: int) -> tuple[int, int, str] | None:
    """One transaction: number up to `batch` events, store new nodes, sign and store a checkpoint."""
    key = signer()
    with database.writing():
        db.session.rollback()  # begin afresh, so SQLite's BEGIN IMMEDIATE takes the write lock
        if not locks.try_serialise(SEAL_LOCK):
            db.session.rollback()
            return None  # a twin sealer is at work: it seals these events
        latest = latest_checkpoint()
        size = latest.tree_size if latest else 0
        pending = db.session.execute(
            select(AuditEvent.id, AuditEvent.leaf_hash)
            .where(AuditEvent.leaf_index.is_(None))
            .order_by(AuditEvent.id)
            .limit(batch)
        ).all()
        if not pending:
            db.session.rollback()
            return None
        frontier = Frontier.load(size, stored_tree(size).perfect)
        nodes: list[dict] = []
        numbering: list[dict] = []
        for event_id, leaf in pending:
            numbering.append({"sealed_id": event_id, "new_index": frontier.size})
            nodes.extend(
                {"level": level, "index": index, "hash": value}
                for level, index, value in frontier.append(bytes.fromhex(leaf))
            )
        table = AuditEvent.__table__
        db.session.connection().execute(
            update(table)
            .where(table.c.id == db.bindparam("sealed_id"))
            .where(table.c.leaf_index.is_(None))
            .values(leaf_index=db.bindparam("new_index")),
            numbering,
        )
        if nodes:
            db.session.connection().execute(db.insert(AuditNode.__table__), nodes)
        root = frontier.root()
        _refuse_a_fork(key.verifier_key, frontier.size)
        text = Checkpoint(key.name, frontier.size, root).text
        note = key.sign_note(text)
        db.session.add(
            AuditCheckpoint(
                tree_size=frontier.size,
                root_hash=root.hex(),
                note=note,
                verifier_key=str(key.verifier_key),
                signed_at=clock.now(),
            )
        )
        db.session.commit()
    return len(pending), frontier.size, note


class ForkRefused(RuntimeError):
    """The database's tree does not extend the last checkpoint this log signed (its log file)."""


def _last_logged(key: VerifierKey) -> Checkpoint | None:
    """The newest checkpoint in AUDIT_CHECKPOINT_LOG (read from its tail only)."""
    path = Path(settings.get("AUDIT_CHECKPOINT_LOG"))
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, 2)
        start = max(0, handle.tell() - 8192)
        handle.seek(start)
        tail = handle.read().decode("utf-8", errors="replace")
    if start:  # begin at a note's first line: after a blank line not followed by a signature
        cut = 0
        while True:
            cut = tail.find("\n\n", cut)
            if cut < 0 or not tail.startswith(SIGNATURE_PREFIX, cut + 2):
                break
            cut += 2
        tail = tail[cut + 2 :] if cut >= 0 else ""
    notes = read_notes(tail)
    for note in reversed(notes):
        checkpoint, _ = _held(note, key, "checkpoint log")
        if checkpoint is not None:
            return checkpoint
    return None


def _refuse_a_fork(key: VerifierKey, new_size: int) -> None:
    """Never sign a tree that does not extend the last checkpoint signed (a restore to an older
    backup, or a truncation of the database, would otherwise be signed as a fork)."""
    logged = _last_logged(key)
    if logged is None:
        return
    if logged.size > new_size or stored_tree(logged.size).root() != logged.root:
        db.session.rollback()
        _tell_of_the_stop()
        raise ForkRefused(
            f"the tree of size {new_size} does not extend the checkpoint of size {logged.size} "
            "already signed (checkpoint log): refusing to sign; run `flask tracker audit verify`"
        )


def _tell_of_the_stop() -> None:
    """Administrators and auditors hear in the tracker, once a day, that sealing has stopped:
    the scheduler's log alone is read by nobody until it matters."""
    from tracker.services import alerts  # alerts record audit events: imported when needed

    readers = db.session.scalars(
        select(Person).where(Person.role.in_([Role.ADMIN.value, Role.AUDITOR.value]), Person.active)
    ).all()
    alerts.raise_alert(
        event=f"audit_log_stopped:{workdays.today().isoformat()}",
        recipients=readers,
        kind=AlertKind.AUDIT_LOG_STOPPED.value,
        subject="The audit log has stopped sealing new events: its database no longer extends "
        "the checkpoints already signed (see the README on restores)",
        link="/audit/",
    )
    db.session.commit()


def _append_to_log(notes: Iterable[str]) -> None:
    """Append checkpoints to the file outside the database (one note, then a blank line)."""
    path = Path(settings.get("AUDIT_CHECKPOINT_LOG"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for note in notes:
            handle.write(note + "\n")
        handle.flush()


def read_notes(text: str) -> list[str]:
    """The signed notes in a checkpoint file (each followed by a blank line) or a single note."""
    notes, lines, in_signatures = [], [], False
    text = text.replace("\r\n", "\n")  # a copy saved with Windows line endings reads the same
    for line in text.splitlines(keepends=True):
        if in_signatures and line == "\n":
            notes.append("".join(lines))
            lines, in_signatures = [], False
            continue
        if line == "\n":
            in_signatures = True
        lines.append(line)
    if lines and in_signatures:
        notes.append("".join(lines))
    return notes


# --- Proofs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proven:
    checkpoint: AuditCheckpoint
    proofs: dict[int, list[bytes]]  # event id -> inclusion proof
    pending: list[int]  # event ids not yet sealed into this checkpoint


def inclusion_proofs(events: list[AuditEvent]) -> Proven | None:
    """Inclusion proofs of the events against the latest checkpoint (None: nothing sealed yet)."""
    checkpoint = latest_checkpoint()
    if checkpoint is None:
        return None
    tree = stored_tree(checkpoint.tree_size)
    proofs, pending = {}, []
    for event_row in events:
        if event_row.leaf_index is not None and event_row.leaf_index < checkpoint.tree_size:
            proofs[event_row.id] = tree.inclusion_proof(event_row.leaf_index)
        else:
            pending.append(event_row.id)
    return Proven(checkpoint, proofs, pending)


# --- Verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    problem: str | None = None
    checkpoints: int = 0
    sealed: int = 0

    def __str__(self) -> str:
        if self.ok:
            return (
                f"ok {self.count} events ({self.sealed} sealed, "
                f"{self.checkpoints} checkpoints checked)"
            )
        return self.problem or "broken"


def _sealed_events(batch: int = 5000) -> Iterator[AuditEvent]:
    last = -1
    while True:
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.leaf_index > last)
            .order_by(AuditEvent.leaf_index)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].leaf_index
        for row in rows:  # a long log must not fill memory (and the caller's objects stay)
            db.session.expunge(row.content_row)
            db.session.expunge(row)


def _held(note: str, key: VerifierKey, where: str) -> tuple[Checkpoint | None, str | None]:
    """The checkpoint, if the current key or a previous one (AUDIT_PREVIOUS_VERIFIER_KEYS, kept
    outside the database after a key rotation) signed it."""
    first_error = None
    previous = [VerifierKey.parse(k) for k in settings.get("AUDIT_PREVIOUS_VERIFIER_KEYS")]
    for candidate in (key, *previous):
        try:
            return open_checkpoint(note, candidate), None
        except NoteError as error:
            first_error = first_error or error
    return None, f"{where}: {first_error}"


def verify(extra_notes: list[tuple[str, str]] | None = None) -> Verification:
    """Rebuild the tree from the events and hold it against every checkpoint there is.

    extra_notes: (where, note) pairs held outside the database, e.g. --checkpoint FILE. The
    checkpoint log file (AUDIT_CHECKPOINT_LOG) is always read too.

    Each sealed event's content must match the commitment in its leaf or, erased, be accounted
    for by the erasure event that erased it (audit.unaccounted_erasure).
    """
    key = verifier_key()
    # (tier, leaf index, message), the first reported: a differing leaf (tier 0) before a
    # checkpoint that is missing or signed by another key (tier 1), which only says *that*.
    problems: list[tuple[int, int, str]] = []

    stored = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)).all()
    expected: dict[int, list[tuple[str, bytes]]] = {}  # size -> (where, root)
    previous: Checkpoint | None = None
    nodes: dict[tuple[int, int], bytes] = {}  # shared: consecutive proofs reuse most nodes
    for row in stored:
        checkpoint, problem = _held(row.note, key, f"stored checkpoint of size {row.tree_size}")
        if problem:
            problems.append((1, row.tree_size, problem))
            continue
        if checkpoint.size != row.tree_size or checkpoint.root.hex() != row.root_hash:
            problems.append((1, row.tree_size, f"stored checkpoint {row.id}: row and note differ"))
        if previous is not None:
            proof = _consistency(previous.size, checkpoint.size, nodes)
            if proof is None or not verify_consistency(
                previous.size, checkpoint.size, previous.root, checkpoint.root, proof
            ):
                problems.append(
                    (
                        1,
                        previous.size,
                        f"checkpoint of size {checkpoint.size} is not consistent with the one "
                        f"of size {previous.size} before it",
                    )
                )
        previous = checkpoint
        expected.setdefault(checkpoint.size, []).append(("stored checkpoint", checkpoint.root))

    log = Path(settings.get("AUDIT_CHECKPOINT_LOG"))
    outside = [("checkpoint log " + str(log), note) for note in _log_notes(log)] + (
        extra_notes or []
    )
    stored_sizes = {row.tree_size for row in stored}
    for where, note in outside:
        checkpoint, problem = _held(note, key, where)
        if problem:
            problems.append((1, 0, problem))
            continue
        expected.setdefault(checkpoint.size, []).append((where, checkpoint.root))
        if checkpoint.size not in stored_sizes:
            problems.append(
                (
                    1,
                    checkpoint.size,
                    f"{where}: its checkpoint of size {checkpoint.size} is missing "
                    "from the database",
                )
            )

    erasures = _Erasures()
    frontier = Frontier()
    roots_ok_below = 0  # the largest size whose checkpoints all matched
    count = 0
    for event_row in _sealed_events():
        index = event_row.leaf_index
        if index != frontier.size:
            problems.append((0, frontier.size, f"leaf {frontier.size} is missing"))
            break
        recomputed = audit.event_leaf_hash(event_row)
        if recomputed != event_row.leaf_hash:
            problems.append(
                (
                    0,
                    index,
                    f"leaf {index} (event {event_row.id}): content does not match its leaf hash",
                )
            )
        content = event_row.content_row
        if content.content is None or content.salt is None:
            # Erased: only as the retention rules erase, recorded by an erasure event.
            why = audit.unaccounted_erasure(event_row, erasures.get(content.erasure_event_id))
            if why:
                problems.append(
                    (
                        0,
                        index,
                        f"leaf {index} (event {event_row.id}): its content was erased but {why}: "
                        "the erasure is not accounted for (tampered)",
                    )
                )
        elif content_commitment(content.salt, content.content) != event_row.content_commitment:
            problems.append(
                (
                    0,
                    index,
                    f"leaf {index} (event {event_row.id}): its content does not match the "
                    "commitment in its leaf",
                )
            )
        frontier.append(bytes.fromhex(recomputed))
        count += 1
        for where, root in expected.get(frontier.size, []):
            if root != frontier.root():
                problems.append((0, roots_ok_below, _differs(roots_ok_below, frontier.size, where)))
        if frontier.size in expected and not any(
            root != frontier.root() for _, root in expected[frontier.size]
        ):
            roots_ok_below = max(roots_ok_below, frontier.size)
    for size in sorted(expected):
        if size > frontier.size:
            problems.append(
                (0, frontier.size, f"a checkpoint of size {size} has leaves the log lacks")
            )
    unsealed = db.session.scalar(
        select(db.func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_(None))
    )
    if problems:
        problems.sort(key=lambda p: (p[0], p[1]))
        return Verification(False, count, problems[0][2])
    return Verification(
        True,
        count + unsealed,
        checkpoints=len(stored) + len(outside),
        sealed=count,
    )


class _Erasures:
    """Erasure events by id, read once each (a case's disposal erases many events with one)."""

    LIMIT = 1024  # a long log must not fill memory

    def __init__(self) -> None:
        self._read: dict[int, Row | None] = {}

    def get(self, event_id: int | None) -> Row | None:
        if event_id is None:
            return None
        if event_id not in self._read:
            if len(self._read) >= self.LIMIT:
                self._read.clear()
            self._read[event_id] = audit.erasure_record(event_id)
        return self._read[event_id]


def _differs(first: int, size: int, where: str) -> str:
    """Name the first leaf that differs, as closely as the checkpoints held allow: between the
    largest size whose checkpoints all matched and the first size whose checkpoint did not."""
    mismatch = f"the rebuilt tree of size {size} does not match the {where}"
    if first == size - 1:
        return f"leaf {first} (event {_event_at(first)}) is the first leaf that differs: {mismatch}"
    return (
        f"the first leaf that differs is one of leaves {first}..{size - 1} (events from "
        f"{_event_at(first)}; no checkpoint held in between narrows it further): {mismatch}"
    )


def _event_at(leaf_index: int) -> int | None:
    return db.session.scalar(select(AuditEvent.id).where(AuditEvent.leaf_index == leaf_index))


def _consistency(old: int, new: int, nodes) -> list[bytes] | None:
    try:
        return stored_tree(new, nodes).consistency_proof(old)
    except LookupError:
        return None


def _log_notes(path: Path) -> list[str]:
    if not path.exists():
        return []
    return read_notes(path.read_text(encoding="utf-8"))


def checkpoint_of(note: str) -> Checkpoint:
    return Checkpoint.parse(note.partition("\n\n")[0] + "\n")


def root_b64(checkpoint: AuditCheckpoint) -> str:
    return base64.b64encode(bytes.fromhex(checkpoint.root_hash)).decode()
