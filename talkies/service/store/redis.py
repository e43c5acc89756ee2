"""The job store in Redis, shared by API nodes and worker machines (`redis://...` queue URLs).

Every state change is one Lua script, so it runs atomically on the server with its
precondition checked inside (the same compare-and-set as the SQLite store's `UPDATE ... WHERE`).
Keys, all under `talkies:{name}:` (`name` from the queue URL, default "talkies"):

- `job:{id}`    hash: the job record (None stored as "", JSON fields as JSON)
- `queue`       sorted set of queued job ids, scored by (priority desc, seq asc): ZRANK is the
                queue position, and workers claim its head, so positions are the start order
- `seq`         counter behind `seq`
- `starts`      counter behind `start_seq`, the order jobs were claimed in (read by
                bench/queue_load.py to check reported queue positions against it)
- `running`     sorted set of running job ids by last heartbeat (stale jobs)
- `deadlines`   sorted set of queued job ids by start deadline (overdue jobs)
- `finished`    sorted set of finished job ids by finish time (retention)
- `logs:{id}`   list of log lines (JSON)
- `hooks`       sorted set of webhooks by when they are next due (or leased until)
- `hook:{id}`   hash: webhook url and attempts
- `created:{endpoint}` sorted set of an endpoint's job ids by creation time (request history)

Redis client errors (the server is down or restarting) propagate as redis.ConnectionError /
redis.TimeoutError; the API turns them into 503 with Retry-After (errors.py). redis-py
reconnects on the next call, and reloads the scripts if a restarted server lost them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from talkies.service.store.base import (
    CancelResult,
    Delivery,
    Job,
    LogLine,
    NewJob,
    Outcome,
    UnsupportedBackend,
)

DEFAULT_NAME = "talkies"
# Score = -priority * PRIORITY_STRIDE + seq: exact in a double for 2**40 jobs per priority.
PRIORITY_STRIDE = 2**40
CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 10.0


def split_url(queue_url: str) -> tuple[str, str]:
    """ "redis://host:6379/0?name=prod" -> ("redis://host:6379/0", "prod").

    `name` namespaces everything talkies keeps in that Redis (the Huey queue and the job store),
    so several deployments, or tests, can share one server."""

    parts = urlsplit(queue_url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise UnsupportedBackend(f"queue URL {queue_url!r} is not a redis:// URL")
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [v for k, v in query if k == "name"]
    name = names[-1] if names else DEFAULT_NAME
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UnsupportedBackend(f"queue URL name is {name!r}; use letters, digits, '-', '_' or '.'")
    rest = urlencode([(k, v) for k, v in query if k != "name"])
    return urlunsplit(parts._replace(query=rest)), name


def connect(url: str) -> redis.Redis:
    """A client with bounded timeouts: an outage fails a request in seconds, never hangs it."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )


# Shared Lua: end job KEYS[1] (id ARGV[1]) with outcome ARGV[2] at time ARGV[3].
_FINISH_FN = """
local function finish(p, id, outcome, now)
  local key = p .. 'job:' .. id
  redis.call('HSET', key, 'status', 'COMPLETED', 'finished_at', now, 'outcome', outcome)
  redis.call('ZREM', p .. 'queue', id)
  redis.call('ZREM', p .. 'deadlines', id)
  redis.call('ZREM', p .. 'running', id)
  redis.call('ZADD', p .. 'finished', now, id)
  local hook = redis.call('HGET', key, 'webhook_url')
  if hook and hook ~= '' then
    redis.call('HSET', p .. 'hook:' .. id, 'url', hook, 'attempts', 0)
    redis.call('ZADD', p .. 'hooks', now, id)
  end
end
"""

# Shared Lua: IN_QUEUE -> IN_PROGRESS for job `id`.
_CLAIM_FN = """
local function claim(p, id, worker, now)
  local key = p .. 'job:' .. id
  redis.call('HSET', key, 'status', 'IN_PROGRESS', 'worker', worker, 'started_at', now,
             'heartbeat_at', now)
  redis.call('HINCRBY', key, 'attempts', 1)
  redis.call('HSET', key, 'start_seq', redis.call('INCR', p .. 'starts'))
  redis.call('ZREM', p .. 'queue', id)
  redis.call('ZREM', p .. 'deadlines', id)
  redis.call('ZADD', p .. 'running', now, id)
end
"""

# KEYS: none (prefix in ARGV[1]). ARGV: prefix, id, priority, now, deadline|'', fields (json).
_ADD = """
local p, id = ARGV[1], ARGV[2]
local key = p .. 'job:' .. id
if redis.call('EXISTS', key) == 1 then return 0 end
local seq = redis.call('INCR', p .. 'seq')
local fields = cjson.decode(ARGV[6])
for k, v in pairs(fields) do redis.call('HSET', key, k, v) end
redis.call('HSET', key, 'status', 'IN_QUEUE', 'seq', seq, 'attempts', 0, 'cancel_requested', 0)
redis.call('ZADD', p .. 'queue', -tonumber(ARGV[3]) * STRIDE + seq, id)
if ARGV[5] ~= '' then redis.call('ZADD', p .. 'deadlines', ARGV[5], id) end
redis.call('ZADD', p .. 'created:' .. fields['endpoint'], ARGV[4], id)
return 1
""".replace("STRIDE", str(PRIORITY_STRIDE))

_CLAIM = (
    _CLAIM_FN
    + """
local p, id = ARGV[1], ARGV[2]
if redis.call('HGET', p .. 'job:' .. id, 'status') ~= 'IN_QUEUE' then return 0 end
claim(p, id, ARGV[3], ARGV[4])
return 1
"""
)

_CLAIM_NEXT = (
    _CLAIM_FN
    + """
local p = ARGV[1]
local head = redis.call('ZRANGE', p .. 'queue', 0, 0)
if #head == 0 then return false end
claim(p, head[1], ARGV[2], ARGV[3])
return head[1]
"""
)

# ARGV: prefix, id, line (json). A line for a job that is gone (deleted, or lost with a Redis
# restart) is dropped, so no log list outlives its job.
_LOG = """
local p, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'job:' .. id) == 0 then return 0 end
return redis.call('RPUSH', p .. 'logs:' .. id, ARGV[3])
"""

# ARGV: prefix, id, attempt, now
_HEARTBEAT = """
local p, id = ARGV[1], ARGV[2]
local key = p .. 'job:' .. id
local s = redis.call('HMGET', key, 'status', 'attempts')
if s[1] ~= 'IN_PROGRESS' or s[2] ~= ARGV[3] then return 0 end
redis.call('HSET', key, 'heartbeat_at', ARGV[4])
redis.call('ZADD', p .. 'running', ARGV[4], id)
return 1
"""

# ARGV: prefix, id, outcome, now, attempt|'' ('' : only if still queued)
_FINISH = (
    _FINISH_FN
    + """
local p, id = ARGV[1], ARGV[2]
local s = redis.call('HMGET', p .. 'job:' .. id, 'status', 'attempts')
if ARGV[5] == '' then
  if s[1] ~= 'IN_QUEUE' then return 0 end
elseif s[1] ~= 'IN_PROGRESS' or s[2] ~= ARGV[5] then
  return 0
end
finish(p, id, ARGV[3], ARGV[4])
return 1
"""
)

# ARGV: prefix, id, attempt, count_attempt (1/0)
_REQUEUE = """
local p, id = ARGV[1], ARGV[2]
local key = p .. 'job:' .. id
local s = redis.call('HMGET', key, 'status', 'attempts', 'priority', 'start_deadline')
if s[1] ~= 'IN_PROGRESS' or s[2] ~= ARGV[3] then return 0 end
local seq = redis.call('INCR', p .. 'seq')
redis.call('HSET', key, 'status', 'IN_QUEUE', 'seq', seq, 'worker', '', 'heartbeat_at', '')
if ARGV[4] == '0' then redis.call('HINCRBY', key, 'attempts', -1) end
redis.call('ZREM', p .. 'running', id)
redis.call('ZADD', p .. 'queue', -tonumber(s[3]) * STRIDE + seq, id)
if s[4] and s[4] ~= '' then redis.call('ZADD', p .. 'deadlines', s[4], id) end
return 1
""".replace("STRIDE", str(PRIORITY_STRIDE))

# ARGV: prefix, id, outcome, now
_CANCEL = (
    _FINISH_FN
    + """
local p, id = ARGV[1], ARGV[2]
local status = redis.call('HGET', p .. 'job:' .. id, 'status')
if not status then return 'missing' end
if status == 'COMPLETED' then return 'completed' end
if status == 'IN_PROGRESS' then
  redis.call('HSET', p .. 'job:' .. id, 'cancel_requested', 1)
  return 'requested'
end
finish(p, id, ARGV[3], ARGV[4])
return 'removed'
"""
)

# ARGV: prefix, id
_DELETE = """
local p, id = ARGV[1], ARGV[2]
local endpoint = redis.call('HGET', p .. 'job:' .. id, 'endpoint')
if endpoint then redis.call('ZREM', p .. 'created:' .. endpoint, id) end
redis.call('DEL', p .. 'job:' .. id, p .. 'logs:' .. id, p .. 'hook:' .. id)
for _, z in ipairs({'queue', 'deadlines', 'running', 'finished', 'hooks'}) do
  redis.call('ZREM', p .. z, id)
end
return 1
"""

# ARGV: prefix, now, lease_until, limit. Returns [id, url, attempts, ...].
_DUE = """
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'hooks', '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', p .. 'hook:' .. id, 'url', 'attempts')
  redis.call('ZADD', p .. 'hooks', ARGV[3], id)
  table.insert(out, id)
  table.insert(out, h[1] or '')
  table.insert(out, h[2] or '0')
end
return out
"""

# ARGV: prefix, id, next_at|'' ('' : finished)
_DELIVERY_DONE = """
local p, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'hook:' .. id) == 0 then return 0 end
redis.call('HINCRBY', p .. 'hook:' .. id, 'attempts', 1)
if ARGV[3] == '' then
  redis.call('ZREM', p .. 'hooks', id)
else
  redis.call('ZADD', p .. 'hooks', ARGV[3], id)
end
return 1
"""


class RedisJobStore:
    """JobStore on a Redis server. Safe to share between threads and forked processes (the
    redis-py pool opens new connections in a child process)."""

    def __init__(self, url: str, name: str = DEFAULT_NAME, client: redis.Redis | None = None) -> None:
        self.url, self.name = url, name
        self.prefix = f"talkies:{name}:"
        self.r = client or connect(url)
        script = self.r.register_script
        self._add, self._claim, self._claim_next = script(_ADD), script(_CLAIM), script(_CLAIM_NEXT)
        self._heartbeat, self._finish, self._requeue = script(_HEARTBEAT), script(_FINISH), script(_REQUEUE)
        self._cancel, self._delete = script(_CANCEL), script(_DELETE)
        self._due, self._delivery_done, self._log = script(_DUE), script(_DELIVERY_DONE), script(_LOG)

    @classmethod
    def from_queue_url(cls, queue_url: str) -> RedisJobStore:
        url, name = split_url(queue_url)
        return cls(url, name)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def own_keys(self) -> list[bytes]:
        """Every key of this store (for tests and `flush`)."""
        return list(self.r.scan_iter(match=self.prefix + "*", count=1000))

    def flush(self) -> None:
        """Delete everything this store holds (tests)."""
        keys = self.own_keys()
        for i in range(0, len(keys), 500):
            self.r.delete(*keys[i : i + 500])

    def ping(self) -> bool:
        return bool(self.r.ping())

    def start_seq(self, job_id: str) -> int | None:
        """The rank of the job's last claim among all claims (1-based), or None."""
        raw = self.r.hget(self._key("job", job_id), "start_seq")
        return int(raw) if raw else None

    # ---- the JobStore interface ---------------------------------------------------------

    def add(self, job: NewJob, now: float) -> Job:
        fields = {
            "endpoint": job.endpoint,
            "payload": json.dumps(job.payload),
            "priority": str(job.priority),
            "created_at": repr(now),
            "start_deadline": _num(job.start_deadline),
            "webhook_url": job.webhook_url or "",
            "started_at": "",
            "finished_at": "",
            "worker": "",
            "heartbeat_at": "",
            "outcome": "",
        }
        args: list[Any] = [self.prefix, job.id, job.priority, repr(now), _num(job.start_deadline)]
        args.append(json.dumps(fields))
        if not self._add(args=args):
            raise ValueError(f"job {job.id} already exists")
        return Job(
            id=job.id,
            endpoint=job.endpoint,
            payload=job.payload,
            status="IN_QUEUE",
            priority=job.priority,
            created_at=now,
            start_deadline=job.start_deadline,
            webhook_url=job.webhook_url,
            started_at=None,
            finished_at=None,
            attempts=0,
            worker=None,
            heartbeat_at=None,
            cancel_requested=False,
            outcome=None,
        )

    def get(self, job_id: str) -> Job | None:
        return _job(job_id, cast("dict[bytes, bytes]", self.r.hgetall(self._key("job", job_id))))

    def position(self, job_id: str) -> int | None:
        rank = self.r.zrank(self._key("queue"), job_id)
        return None if rank is None else int(cast(int, rank))

    def claim(self, job_id: str, worker: str, now: float) -> Job | None:
        changed = self._claim(args=[self.prefix, job_id, worker, repr(now)])
        return self.get(job_id) if changed else None

    def claim_next(self, worker: str, now: float) -> Job | None:
        claimed = self._claim_next(args=[self.prefix, worker, repr(now)])
        return self.get(claimed.decode()) if claimed else None

    def heartbeat(self, job_id: str, attempt: int, now: float) -> bool:
        return bool(self._heartbeat(args=[self.prefix, job_id, attempt, repr(now)]))

    def cancel_requested(self, job_id: str) -> bool:
        flag, status = self.r.hmget(self._key("job", job_id), "cancel_requested", "status")
        return flag == b"1" or status == b"COMPLETED"

    def log(self, job_id: str, message: str, level: str = "INFO") -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        self._log(args=[self.prefix, job_id, json.dumps([message, level, stamp])])

    def logs(self, job_id: str, after: int = 0) -> list[LogLine]:
        return [LogLine(*json.loads(raw)) for raw in self.r.lrange(self._key("logs", job_id), after, -1)]

    def finish(self, job_id: str, outcome: Outcome, now: float, attempt: int | None = None) -> bool:
        fence = "" if attempt is None else str(attempt)
        return bool(self._finish(args=[self.prefix, job_id, outcome.to_json(), repr(now), fence]))

    def requeue(self, job_id: str, attempt: int, count_attempt: bool = True) -> Job | None:
        changed = self._requeue(args=[self.prefix, job_id, attempt, int(count_attempt)])
        return self.get(job_id) if changed else None

    def cancel(self, job_id: str, outcome: Outcome, now: float) -> CancelResult:
        found = self._cancel(args=[self.prefix, job_id, outcome.to_json(), repr(now)])
        return cast(CancelResult, found.decode())

    def stale(self, older_than: float) -> list[Job]:
        ids = self.r.zrangebyscore(self._key("running"), "-inf", f"({older_than!r}")
        return [j for j in self._many(ids) if j.status == "IN_PROGRESS"]

    def overdue(self, now: float) -> list[Job]:
        ids = self.r.zrangebyscore(self._key("deadlines"), "-inf", f"({now!r}")
        return [j for j in self._many(ids) if j.status == "IN_QUEUE"]

    def queued(self) -> list[Job]:
        return [j for j in self._many(self.r.zrange(self._key("queue"), 0, -1)) if j.status == "IN_QUEUE"]

    def expired(self, finished_before: float) -> list[Job]:
        ids = self.r.zrangebyscore(self._key("finished"), "-inf", f"({finished_before!r}")
        return [j for j in self._many(ids) if j.status == "COMPLETED"]

    def delete(self, job_id: str) -> None:
        self._delete(args=[self.prefix, job_id])

    def due_deliveries(self, now: float, lease_s: float, limit: int = 20) -> list[Delivery]:
        flat = self._due(args=[self.prefix, repr(now), repr(now + lease_s), limit])
        return [
            Delivery(flat[i].decode(), flat[i + 1].decode(), int(flat[i + 2]))
            for i in range(0, len(flat), 3)
            if flat[i + 1]
        ]

    def delivery_done(self, job_id: str, next_at: float | None) -> None:
        self._delivery_done(args=[self.prefix, job_id, _num(next_at)])

    def history(self, endpoint: str, limit: int, before: float | None = None) -> list[Job]:
        top = f"({before!r}" if before is not None else "+inf"
        ids = self.r.zrevrangebyscore(self._key("created", endpoint), top, "-inf", start=0, num=limit)
        return self._many(ids)

    def _many(self, ids: Any) -> list[Job]:
        """The jobs of `ids` (bytes, as redis-py returns them) in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self._key("job", job_id.decode()))
        rows = pipe.execute()
        return [job for i, row in zip(ids, rows, strict=True) if (job := _job(i.decode(), row))]


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _opt_float(raw: bytes | None) -> float | None:
    return float(raw) if raw else None


def _job(job_id: str, h: dict[bytes, bytes]) -> Job | None:
    if not h:
        return None
    return Job(
        id=job_id,
        endpoint=h[b"endpoint"].decode(),
        payload=json.loads(h[b"payload"]),
        status=h[b"status"].decode(),  # type: ignore[arg-type]
        priority=int(h[b"priority"]),
        created_at=float(h[b"created_at"]),
        start_deadline=_opt_float(h.get(b"start_deadline")),
        webhook_url=h.get(b"webhook_url", b"").decode() or None,
        started_at=_opt_float(h.get(b"started_at")),
        finished_at=_opt_float(h.get(b"finished_at")),
        attempts=int(h.get(b"attempts", b"0")),
        worker=h.get(b"worker", b"").decode() or None,
        heartbeat_at=_opt_float(h.get(b"heartbeat_at")),
        cancel_requested=h.get(b"cancel_requested") == b"1",
        outcome=Outcome.from_json(h[b"outcome"]) if h.get(b"outcome") else None,
    )
