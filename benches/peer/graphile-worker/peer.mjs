#!/usr/bin/env node
// A peer queue for kabar's delivery benchmark: graphile-worker sending the same Twilio POST that
// kabar's Twilio provider sends, to the benchmark's fake Twilio.
//
//   node peer.mjs enqueue --database-url URL --jobs N
//     Runs graphile-worker's migrations, enqueues N jobs of task `send` with payload {"n": i},
//     prints {"enqueued":N,"seconds":S} (S: the enqueueing alone, not the migrations).
//
//   node peer.mjs work --database-url URL --fake URL --concurrency C [--defaults]
//     Says `ready`, waits for `go` on stdin, works until the jobs table is empty (this process's
//     and every other process's jobs, locked ones included), shuts down gracefully and prints one
//     JSON line: {"sent","failed","seconds","cpu_seconds","peak_rss_mib","version","settings"}.
//     `--defaults` runs graphile-worker's own defaults (pool of 10, poll every 2 s) instead of
//     the tuned settings (tunedSettings below); concurrency is always C. For sweeps:
//     --max-pool-size N, --poll-interval MS, --use-node-time override one runner option;
//     --http fetch sends with Node's fetch instead of an undici Pool; --poll-ms MS is how often
//     the emptiness check looks (50).
//
// The database URL may also come from DATABASE_URL, so `ps` need not show a password.
// Durability: a job is deleted only after its task resolved, i.e. after Twilio's 201 and sid were
// read; a task that throws is retried by graphile-worker (exponential back-off, 25 attempts).

import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { EventEmitter } from "node:events";
import { parseArgs } from "node:util";
import pg from "pg";
import { Logger, parseCronItems, run, runMigrations } from "graphile-worker";
import { Pool as HttpPool } from "undici";

const require = createRequire(import.meta.url);
const VERSION = require("graphile-worker/package.json").version;
const SCHEMA = "graphile_worker";
const TASK = "send";

// What kabar's Twilio provider sends (src/deliver/providers/twilio.rs): form fields To, Body, From.
const ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN = "bench-twilio-auth-token";
const AUTHORIZATION = "Basic " + Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString("base64");
const MESSAGE_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;
const TEXT =
  "Kantor Imigrasi: layanan cetak paspor terganggu. Jadwal Anda tetap; paspor dicetak setelah layanan pulih. Info: imigrasi.go.id";
const HEADERS = {
  authorization: AUTHORIZATION,
  "content-type": "application/x-www-form-urlencoded",
  "user-agent": "kabar/0.1.0",
};

/** The urlencoded form for job `n`, byte for byte what reqwest's `.form()` produces. */
function form(n) {
  return new URLSearchParams([
    ["To", `+62812${String(n).padStart(8, "0")}`],
    ["Body", TEXT],
    ["From", "KANIM"],
  ]).toString();
}

/** graphile-worker logs every job by default; stdout carries only `ready` and the report. */
const silent = new Logger(() => () => {});

function fail(message) {
  process.stderr.write(`peer.mjs: ${message}\n`);
  process.exit(2);
}

function options(args, extra) {
  const { values } = parseArgs({
    args,
    options: { "database-url": { type: "string" }, ...extra },
    strict: true,
  });
  values["database-url"] ??= process.env.DATABASE_URL;
  if (!values["database-url"]) fail("--database-url (or DATABASE_URL) is required");
  return values;
}

function positiveInt(value, name) {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) fail(`${name} must be a non-negative integer, not ${value}`);
  return number;
}

// ---------------------------------------------------------------------------------------------
// enqueue

const CHUNK = 10_000;

async function enqueue(args) {
  const values = options(args, { jobs: { type: "string" } });
  const jobs = positiveInt(values.jobs, "--jobs");
  const connectionString = values["database-url"];
  await runMigrations({ connectionString, logger: silent });

  const client = new pg.Client({ connectionString });
  await client.connect();
  // add_jobs(job_spec[]) is graphile-worker's own bulk insert (migration 000011 onwards): one
  // statement, one NOTIFY per chunk. The specs travel as one JSON array per chunk.
  const text = `select count(*)::int as added from ${SCHEMA}.add_jobs(
      array(select s from json_populate_recordset(null::${SCHEMA}.job_spec, $1::json) s))`;
  const started = performance.now();
  let enqueued = 0;
  for (let from = 0; from < jobs; from += CHUNK) {
    const to = Math.min(jobs, from + CHUNK);
    const specs = [];
    for (let i = from; i < to; i++) specs.push({ identifier: TASK, payload: { n: i } });
    const { rows } = await client.query(text, [JSON.stringify(specs)]);
    enqueued += rows[0].added;
  }
  const seconds = (performance.now() - started) / 1000;
  await client.end();
  if (enqueued !== jobs) fail(`enqueued ${enqueued} of ${jobs} jobs`);
  process.stdout.write(JSON.stringify({ enqueued, seconds: round(seconds) }) + "\n");
}

// ---------------------------------------------------------------------------------------------
// work

/** graphile-worker 0.16's own defaults (src/config.ts), apart from the concurrency asked for. */
function defaultSettings(concurrency) {
  return { concurrency, maxPoolSize: 10, pollInterval: 2000, useNodeTime: false, preparedStatements: true };
}

/**
 * The tuned settings. 0.16 has neither a local queue (batched fetch) nor batched completion
 * (both arrive in 0.17), so every job costs one locking UPDATE and one DELETE, each its own
 * committed transaction, whatever the settings; what is left to tune is the connection pool and
 * the idle poll. Measured on the benchmark's 2-core machine, 64 workers: a pool of 20 (one
 * connection LISTENs, 19 carry the workers' queries) beat both the default 10 (workers queue for
 * connections) and one connection per worker (more backends contending on the same index head
 * and CPU; and two such processes would pass PostgreSQL's default max_connections of 100).
 * useNodeTime made no difference. The poll only matters when no job is ready (a failed job
 * waits e^attempts seconds before its retry); 500 ms picks retries up sooner than 2 s.
 */
function tunedSettings(concurrency) {
  return {
    concurrency,
    maxPoolSize: Math.min(concurrency + 1, 20),
    pollInterval: 500,
    useNodeTime: false,
    preparedStatements: true,
  };
}

function httpClient(kind, fake, connections) {
  const origin = new URL(fake).origin;
  if (kind === "fetch") {
    const url = new URL(MESSAGE_PATH, origin).href;
    return {
      async post(body) {
        const response = await fetch(url, { method: "POST", headers: HEADERS, body });
        return { status: response.status, json: await response.json().catch(() => null) };
      },
      close: async () => {},
    };
  }
  const pool = new HttpPool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  return {
    async post(body) {
      const response = await pool.request({ path: MESSAGE_PATH, method: "POST", headers: HEADERS, body });
      return { status: response.statusCode, json: await response.body.json().catch(() => null) };
    },
    close: () => pool.close(),
  };
}

/** Remaining jobs: every row in the jobs table, locked (in flight) ones included, except those
 *  that failed for good (attempts used up and unlocked), which would never leave the table. */
const REMAINING = `select count(*)::int as remaining from ${SCHEMA}._private_jobs
  where locked_at is not null or attempts < max_attempts`;
const DEAD = `select count(*)::int as dead from ${SCHEMA}._private_jobs
  where locked_at is null and attempts >= max_attempts`;

async function work(args) {
  const values = options(args, {
    fake: { type: "string" },
    concurrency: { type: "string" },
    defaults: { type: "boolean", default: false },
    http: { type: "string", default: "undici" },
    "poll-ms": { type: "string", default: "50" },
    // Overrides of single runner options, for sweeping (applied over --defaults or the tuned).
    "max-pool-size": { type: "string" },
    "poll-interval": { type: "string" },
    "use-node-time": { type: "boolean" },
  });
  if (!values.fake) fail("--fake is required");
  const concurrency = positiveInt(values.concurrency ?? "", "--concurrency");
  if (concurrency < 1) fail("--concurrency must be at least 1");
  if (!["undici", "fetch"].includes(values.http)) fail("--http is undici or fetch");
  const pollMs = positiveInt(values["poll-ms"], "--poll-ms");
  const connectionString = values["database-url"];
  const settings = values.defaults ? defaultSettings(concurrency) : tunedSettings(concurrency);
  if (values["max-pool-size"] !== undefined) settings.maxPoolSize = positiveInt(values["max-pool-size"], "--max-pool-size");
  if (values["poll-interval"] !== undefined) settings.pollInterval = positiveInt(values["poll-interval"], "--poll-interval");
  if (values["use-node-time"] !== undefined) settings.useNodeTime = values["use-node-time"];
  if (settings.maxPoolSize < 2) fail("--max-pool-size must be at least 2 (one connection LISTENs)");
  // The default logger would format a "Completed task" line per job only for the silent logger
  // to drop it; graphile-worker skips that on NO_LOG_SUCCESS.
  process.env.NO_LOG_SUCCESS = "1";

  const http = httpClient(values.http, values.fake, concurrency);
  let sent = 0;
  let failed = 0;
  const taskList = {
    async [TASK](payload) {
      try {
        const { status, json } = await http.post(form(payload.n));
        if (status !== 201 || typeof json?.sid !== "string") {
          throw new Error(`Twilio answered HTTP ${status} without a message sid`);
        }
        sent++;
      } catch (error) {
        failed++;
        throw error;
      }
    },
  };

  // The pool graphile-worker would make from `connectionString` and `maxPoolSize`
  // (pg.Pool({connectionString, max})), made here so its connections are open before `ready`.
  const pgPool = new pg.Pool({ connectionString, max: settings.maxPoolSize });
  pgPool.on("error", () => {}); // as graphile-worker does: pg drops the broken idle client
  const warm = await Promise.all(Array.from({ length: settings.maxPoolSize }, () => pgPool.connect()));
  warm.forEach((client) => client.release());
  await runMigrations({ pgPool, logger: silent });
  // Watching the table goes through a connection of its own, outside the workers' pool.
  const monitor = new pg.Client({ connectionString });
  await monitor.connect();

  const events = new EventEmitter();
  let sawEmpty;
  const firstEmpty = new Promise((resolve) => (sawEmpty = resolve));
  events.on("worker:getJob:empty", () => sawEmpty());

  process.stdout.write("ready\n");
  const line = await firstLine();
  if (line !== "go") fail(`expected "go" on stdin, got ${JSON.stringify(line)}`);

  const cpu = process.cpuUsage();
  const started = performance.now();
  const runner = await run({
    pgPool,
    logger: silent,
    events,
    taskList,
    parsedCronItems: parseCronItems([]),
    concurrency: settings.concurrency,
    pollInterval: settings.pollInterval,
    useNodeTime: settings.useNodeTime,
    noPreparedStatements: !settings.preparedStatements,
  });
  let crashed = null;
  let stopping = false;
  const stopped = runner.promise.then(
    () => stopping || (crashed ??= new Error("the runner stopped before the queue was empty")),
    (error) => (crashed = error),
  );

  // Nothing can be empty before one of our workers found nothing to take; from then on, look
  // every `pollMs` until no job is left anywhere (other processes' in-flight jobs included).
  await Promise.race([firstEmpty, stopped]);
  while (!crashed) {
    const { rows } = await monitor.query(REMAINING);
    if (rows[0].remaining === 0) break;
    await sleep(pollMs);
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  stopping = true;
  if (!crashed) await runner.stop();
  const { rows: deadRows } = await monitor.query(DEAD);
  await monitor.end();
  await pgPool.end();
  await http.close();
  if (crashed) fail(`the runner stopped: ${crashed.stack ?? crashed}`);

  const report = {
    sent,
    failed,
    seconds: round(seconds),
    cpu_seconds: round((used.user + used.system) / 1e6),
    peak_rss_mib: round(process.resourceUsage().maxRSS / 1024),
    version: VERSION,
    settings: {
      ...settings,
      defaults: values.defaults,
      http: values.http === "undici" ? `undici Pool (${concurrency} connections)` : "fetch",
      empty_poll_ms: pollMs,
      NO_LOG_SUCCESS: true,
    },
  };
  if (deadRows[0].dead > 0) report.permanently_failed = deadRows[0].dead;
  process.stdout.write(JSON.stringify(report) + "\n");
}

function firstLine() {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    let done = false;
    lines.once("line", (line) => {
      done = true;
      lines.close();
      resolve(line.trim());
    });
    lines.once("close", () => done || resolve(null));
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (x) => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------------------------------------

/** Ends once stdout is flushed: stdin (the parent's pipe) would otherwise keep the process up. */
function exit() {
  process.stdout.write("", () => process.exit(0));
}

const [command, ...rest] = process.argv.slice(2);
if (command === "enqueue") await enqueue(rest).then(exit);
else if (command === "work") await work(rest).then(exit);
else fail("usage: peer.mjs enqueue --database-url URL --jobs N | work --database-url URL --fake URL --concurrency C [--defaults]");
