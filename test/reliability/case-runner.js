#!/usr/bin/env node
// Child process of the reliability suites (badinput.test.ts, scenarios.test.ts) and of
// scripts/test-asan.sh and scripts/valgrind.sh: runs a case list (--cases badinput | scenarios,
// i.e. <name>-cases.js) one case after another and reports each on stdout, written
// synchronously so that nothing is lost if a case crashes the process:
//   @@START <index>
//   @@RESULT {"i": <index>, "id": ..., "pass": true|false, "why": ..., "got": ..., "ms": ...}
//   @@DONE
// The parent restarts it with --from <index + 1> after a crash or a hang.
//
//   node case-runner.js --cases NAME --list     ids as a JSON array (does not load the addon)
//   node case-runner.js --cases NAME [--from K] [--to K] [--filter REGEX] [--summary] [--quick]
//                       [--skip REGEX] [--no-heavy] [--report-only] [--supervise [--idle-seconds S]]
'use strict';
const fs = require('fs');
const { performance } = require('perf_hooks');
const path = require('path');
const { describeError } = require('./util');

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

const suite = opt('--cases') ?? 'badinput';
if (!/^[a-z-]+$/.test(suite)) throw new Error(`bad --cases ${suite}`);
const { allCases, makeContext } = require(path.join(__dirname, `${suite}-cases.js`));
const cases = allCases({ quick: argv.includes('--quick') });
if (argv.includes('--list')) {
  fs.writeSync(1, JSON.stringify(cases.map((c) => c.id)) + '\n');
  process.exit(0);
}

const write = (s) => fs.writeSync(1, s + '\n');

// (c.quick marks the cases kept by --quick, for valgrind)

/** Checks a thrown/rejected value against the case's expectation; '' when it matches. */
function checkError(c, e) {
  if (!e || typeof e !== 'object' || typeof e.message !== 'string') return `expected ${c.expect.join('/')}, got a non-Error: ${String(e)}`;
  if (!c.expect.includes(e.name)) return `expected ${c.expect.join('/')}, got ${describeError(e)}`;
  if (!(e instanceof Error)) return `the ${e.name} is not an instance of Error`;
  if (e.constructor && e.constructor.name !== e.name) return `name ${e.name} but constructor ${e.constructor.name}`;
  if (c.msg && !c.msg.test(e.message)) return `message ${JSON.stringify(e.message)} does not match ${c.msg}`;
  // describe(undefined) once printed 'undefined undefined': a message must say what was passed, once
  if (/\bundefined undefined\b/.test(e.message)) return `message ${JSON.stringify(e.message)} says "undefined undefined"`;
  return '';
}

/** A passing error that is not the class the convention asks for, or a message that misleads: worth a note. */
function noteFor(c, e) {
  if (c.prefer && e && e.name !== c.prefer) return `${e.name} where the convention asks for a ${c.prefer}: ${e.message}`;
  if (e && /detached/.test(e.message) && /empty/.test(c.id)) return `an empty (not detached) array is reported as detached: ${e.message}`;
  return undefined;
}

/**
 * Cases marked heavy ask for absurd (but legal) sizes; if the library mishandles them they may try
 * to allocate many GB. They only run under an address-space limit (ulimit -v, or ASan's
 * max_allocation_size_mb), where such an allocation fails instead of waking the OOM killer.
 */
function memoryLimited() {
  if (/max_allocation_size_mb=\d/.test(process.env.ASAN_OPTIONS || '')) return true;
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max address space'));
    return !!line && !/unlimited/.test(line);
  } catch {
    return false;
  }
}

async function execute(c, lib, ctx) {
  if (c.needs) {
    const has = c.needs === 'toOnnx' ? typeof lib.LongT5TransientGlobalAttention.prototype.toOnnx === 'function' : typeof lib[c.needs] === 'function';
    // (a case list written before the API existed skips itself until it does)
    if (!has) return { pass: true, skipped: true, why: `${c.needs} is not in the facade (yet)` };
  }
  if (c.heavy && !memoryLimited()) return { pass: false, why: 'not run: needs an address-space limit (run under `ulimit -v`, as badinput.test.ts does)' };
  if (c.expect === 'ok') {
    try {
      const why = await c.run(lib, ctx);
      return { pass: !why, why: why || '' };
    } catch (e) {
      return { pass: false, why: `valid input failed: ${describeError(e)}` };
    }
  }
  let r;
  try {
    r = c.run(lib, ctx);
  } catch (e) {
    if (c.async && !c.native) return { pass: false, why: `async entry threw synchronously (must reject): ${describeError(e)}`, got: describeError(e) };
    const why = checkError(c, e);
    return { pass: !why, why, got: describeError(e), note: why ? undefined : noteFor(c, e) };
  }
  const isThenable = r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function';
  if (c.async && !isThenable) return { pass: false, why: `async entry returned ${typeof r}, not a Promise` };
  if (!c.async && isThenable && !c.native) return { pass: false, why: 'sync entry returned a Promise' };
  if (!isThenable) {
    if (c.orOk) return { pass: true, note: 'returned normally (allowed for this case)' };
    return { pass: false, why: `expected ${c.expect.join('/')}, but the call returned normally` };
  }
  try {
    await r;
  } catch (e) {
    const why = checkError(c, e);
    return { pass: !why, why, got: describeError(e), note: why ? undefined : noteFor(c, e) };
  }
  if (c.orOk) return { pass: true, note: 'resolved (allowed for this case)' };
  return { pass: false, why: `expected ${c.expect.join('/')}, but the Promise resolved` };
}

/**
 * --supervise (for the scripts: test-asan.sh, valgrind.sh): run the cases in a child runner and,
 * if a case crashes it or hangs (no output for --idle-seconds, default 30), count that case as
 * failed and start a new child after it, as the jest harness (child.ts) does.
 */
async function supervise() {
  const { spawn } = require('child_process');
  const idleMs = Number(opt('--idle-seconds') ?? 30) * 1000;
  const passArgs = argv.filter((a, i) => a !== '--supervise' && !['--idle-seconds', '--from'].includes(argv[i - 1]) && !['--idle-seconds', '--from'].includes(a));
  let from = Number(opt('--from') ?? 0);
  let failed = 0, ran = 0, crashed = 0, hung = 0;
  for (let restarts = 0; restarts < 50; restarts++) {
    let current = -1;
    let done = false;
    const child = spawn(process.execPath, [...process.execArgv, __filename, ...passArgs, '--from', String(from)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let idle;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => child.kill('SIGKILL'), idleMs);
    };
    arm();
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      arm();
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        if (line.startsWith('@@START ')) {
          current = Number(line.slice(8));
          ran++;
        } else if (line.startsWith('@@DONE')) done = true;
        else if (/^[a-z-]+: \d+ cases, \d+ failed$/.test(line)) continue;  // the child's own count; ours spans restarts
        else {
          if (line.startsWith('FAIL ')) failed++;
          write(line);
        }
      }
    });
    const [code, signal] = await new Promise((resolve) => child.on('close', (c, sig) => resolve([c, sig])));
    clearTimeout(idle);
    if (done) break;
    if (current < 0) {
      write(`FAIL runner: exited (${signal || code}) outside a case`);
      failed++;
      break;
    }
    const hang = signal === 'SIGKILL';
    if (hang) hung++;
    else crashed++;
    failed++;
    write(`FAIL ${cases[current].id}: the runner ${hang ? `hung (no output for ${idleMs / 1000} s)` : `died (${signal || `exit code ${code}`})`}`);
    from = current + 1;
  }
  write(`${suite}: ${ran} cases, ${failed} failed (${crashed} crashed the runner, ${hung} hung)`);
  // --report-only: only crashes (a sanitizer report aborts the process: a crash) fail the run
  process.exitCode = failed && (!argv.includes('--report-only') || crashed) ? 1 : 0;
}

async function main() {
  if (argv.includes('--supervise')) return supervise();
  const { loadLib, loadNative } = require('./load-lib');
  const lib = loadLib();
  const ctx = makeContext(loadNative());
  const from = Number(opt('--from') ?? 0);
  const to = Number(opt('--to') ?? cases.length);
  // For the harness's own test: abort (as a native crash would) when this case starts.
  const crashAt = process.env.GA_CASE_RUNNER_CRASH_AT === undefined ? -1 : Number(process.env.GA_CASE_RUNNER_CRASH_AT);
  const filter = opt('--filter') ? new RegExp(opt('--filter')) : null;
  const skip = opt('--skip') ? new RegExp(opt('--skip')) : null;
  const summary = argv.includes('--summary');
  let failed = 0, ran = 0;
  try {
    for (let i = from; i < Math.min(to, cases.length); i++) {
      const c = cases[i];
      if (filter && !filter.test(c.id)) continue;
      if (skip && skip.test(c.id)) continue;
      if (c.heavy && argv.includes('--no-heavy')) continue;
      write(`@@START ${i}`);
      if (i === crashAt) process.abort();
      const t0 = performance.now();
      const res = await execute(c, lib, ctx);
      const ms = performance.now() - t0;
      ran++;
      if (!res.pass) failed++;
      if (summary) {
        if (!res.pass) write(`FAIL ${c.id}: ${res.why}`);
        else if (res.note) write(`NOTE ${c.id}: ${res.note}`);
        if (ms > 500) write(`SLOW ${c.id}: ${ms.toFixed(0)} ms`);
      } else write(`@@RESULT ${JSON.stringify({ i, id: c.id, ...res, ms: Math.round(ms * 100) / 100 })}`);
    }
  } finally {
    ctx.cleanup();
  }
  if (summary) write(`${suite}: ${ran} cases, ${failed} failed`);
  write('@@DONE');
  // A clean exit with async work possibly still queued is part of what is tested.
  // --report-only (the sanitizer runs): failures are printed, only a crash or a sanitizer report fails the process.
  process.exitCode = summary && failed && !argv.includes('--report-only') ? 1 : 0;
}

main().catch((e) => {
  write(`@@FATAL ${describeError(e)}\n${e && e.stack}`);
  process.exit(2);
});
