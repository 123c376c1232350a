// What the benchmark scripts (run.mjs, sws.mjs, compression.mjs) share: the repository
// root, the facts about the machine and checkout they record next to their numbers, and
// the bookkeeping of a long resumable run.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A command's trimmed stdout, or null when it is missing or fails (a report field, never fatal). */
export function tryRun(command, argv) {
  try {
    return execFileSync(command, argv, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The installed version of a dependency, or null. */
export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** The commit the numbers come from, and whether the checkout had uncommitted changes. */
export function gitState() {
  return { git: tryRun('git', ['rev-parse', '--short', 'HEAD']), gitDirty: (tryRun('git', ['status', '--porcelain']) ?? '').length > 0 };
}

/** Flags every training benchmark takes (parseArgs options). */
export const BENCH_OPTIONS = {
  quick: { type: 'boolean', default: false },
  data: { type: 'string' },
  work: { type: 'string' },
  out: { type: 'string' },
  fresh: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
};

const SYSTEM_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';
const IDX_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** The Fashion-MNIST folder to use (`dir`, else the Debian package's); throws naming what is missing. */
export function fashionMnistDir(dir = SYSTEM_FASHION_MNIST) {
  const missing = IDX_FILES.filter((name) => !existsSync(path.join(dir, name)) && !existsSync(path.join(dir, `${name}.gz`)));
  if (missing.length > 0) {
    throw new Error(`Fashion-MNIST not found: ${dir} lacks ${missing.join(', ')}(.gz). Install the Debian package dataset-fashion-mnist (.ci/run does: apt-get install dataset-fashion-mnist) or pass --data DIR with the four IDX files.`);
  }
  return dir;
}

/** `--help`: prints the script's header comment (lines 2..lines) and exits. */
export function printHeaderHelp(scriptUrl, lines) {
  process.stdout.write(readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').slice(1, lines).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}

/** The machine facts every benchmark report records beside its numbers. */
export function machineFacts(backend) {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    ...(backend ? { backend: `${backend.name} (${backend.detail})` } : {}),
    tfjs: packageVersion('@tensorflow/tfjs-core'),
    onnxruntime: packageVersion('onnxruntime-node'),
    ...gitState(),
  };
}

/**
 * The bookkeeping of a long, resumable benchmark run: a `[tag 3m05s]` log on stderr, the
 * load average sampled each minute, Ctrl-C as a cancel (the current phase checkpoints; a
 * second Ctrl-C quits), a JobContext per job whose phases live in `work/<name>/` (an
 * interrupted run resumes there), and wall time per timed step.
 */
export function benchRun(tag, work) {
  const started = Date.now();
  const loadStart = os.loadavg();
  const loadSamples = [];
  const loadTimer = setInterval(() => loadSamples.push({ at: new Date().toISOString().slice(11, 19), load1: Math.round(os.loadavg()[0] * 100) / 100 }), 60_000);
  loadTimer.unref();
  const elapsed = () => {
    const s = Math.round((Date.now() - started) / 1000);
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  };
  const log = (message) => process.stderr.write(`[${tag} ${elapsed()}] ${message}\n`);
  const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(2)}%`);
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    log('interrupted: checkpointing the current phase (Ctrl-C again to quit at once); run the same command again to resume');
    controller.abort();
  });
  /** Training phases an earlier run of the same command had finished (reused, not retrained). */
  const reused = [];
  /** A JobContext whose phases live in work/<name>/ (resumable, reused when finished). */
  const contextFor = (name) => {
    let lastStepLog = 0;
    return {
      runDir: path.join(work, name),
      checkpointEvery: 300,
      signal: controller.signal,
      emit(event) {
        if (event.type === 'epoch') {
          log(`${name} [${event.phase}] epoch ${event.epoch + 1}/${event.epochs}: loss ${event.trainLoss.toFixed(4)} · test top-1 ${pct(event.val.top1)} (${event.seconds.toFixed(1)} s)`);
        } else if (event.type === 'step') {
          const now = Date.now();
          if (now - lastStepLog > 60_000) {
            lastStepLog = now;
            log(`${name} [${event.phase}] epoch ${event.epoch + 1}/${event.epochs} step ${event.step + 1}/${event.stepsPerEpoch} · ${Math.round(event.imagesPerSec)} img/s · loss ${event.losses.total.toFixed(4)}`);
          }
        } else if (event.type === 'log' && event.level !== 'debug') {
          if (/already finished in this run; reusing/.test(event.message)) reused.push(`${name} ${event.message.split(' ')[0]}`);
          log(`${name}: ${event.message}`);
        }
      },
    };
  };
  const jobSeconds = {};
  const timed = async (name, fn) => {
    const t0 = Date.now();
    log(`▶ ${name}`);
    const result = await fn();
    jobSeconds[name] = (Date.now() - t0) / 1000;
    log(`✔ ${name} (${jobSeconds[name].toFixed(0)} s this session)`);
    return result;
  };
  const loadAverage = () => ({ start: loadStart.map((l) => Math.round(l * 100) / 100), end: os.loadavg().map((l) => Math.round(l * 100) / 100), samples: loadSamples });
  /** Runs the script's main(): a cancel exits 130 (resumable), any other error 1. */
  const runMain = (main) => main().catch((error) => {
    if (error?.name === 'JobCancelled') {
      log('stopped; run the same command again to resume from the last checkpoint');
      process.exit(130);
    }
    console.error(error);
    process.exit(1);
  });
  return { started, loadStart, log, pct, controller, contextFor, jobSeconds, timed, loadAverage, reused, runMain };
}
