// Progress on stderr: a redrawn bar with ETA on a terminal, plain throttled lines
// otherwise (logs, CI). stdout stays free for results (and --json).

import type { JobEvent } from '../shared/events.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

function bar(fraction: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export interface ProgressWriter {
  (event: JobEvent): void;
  /** Ends a redrawn line so following output starts clean. */
  finish(): void;
}

export function createProgressWriter(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): ProgressWriter {
  const tty = Boolean(stream.isTTY);
  let lineOpen = false;
  let lastPlain = 0;
  const println = (text: string) => {
    if (lineOpen) stream.write('\r\x1b[K');
    lineOpen = false;
    stream.write(text + '\n');
  };
  const writer = ((event: JobEvent) => {
    switch (event.type) {
      case 'step': {
        const done = event.epoch * event.stepsPerEpoch + event.step + 1;
        const total = event.epochs * event.stepsPerEpoch;
        const losses = Object.entries(event.losses)
          .filter(([name]) => name !== 'gradNorm')
          .map(([name, value]) => `${name} ${value.toFixed(4)}`)
          .join(' ');
        const text = `[${event.phase}] epoch ${event.epoch + 1}/${event.epochs} step ${event.step + 1}/${event.stepsPerEpoch} ${losses} lr ${event.lr.toExponential(2)} ${event.imagesPerSec.toFixed(0)} img/s ETA ${formatDuration(event.etaSeconds)}`;
        if (tty) {
          const columns = stream.columns ?? 120;
          const line = `${bar(done / total, 20)} ${text}`;
          stream.write('\r\x1b[K' + line.slice(0, columns - 1));
          lineOpen = true;
        } else if (now() - lastPlain > 5000 || done === total) {
          lastPlain = now();
          println(text);
        }
        break;
      }
      case 'epoch':
        println(`[${event.phase}] epoch ${event.epoch + 1}/${event.epochs}: train loss ${event.trainLoss.toFixed(4)} · val loss ${event.val.loss.toFixed(4)} top-1 ${pct(event.val.top1)} top-5 ${pct(event.val.top5)} (n=${event.val.n}) · ${event.seconds.toFixed(1)} s`);
        break;
      case 'log':
        println(event.level === 'warn' ? `warning: ${event.message}` : event.message);
        break;
      case 'metric':
        println(`[${event.phase}] ${event.name}: ${event.value}`);
        break;
      case 'checkpoint':
        if (!tty) println(`checkpoint saved: ${event.path} (after ${event.step} steps)`);
        break;
      case 'error': // the CLI prints the failure itself, once
        break;
      case 'cancelled':
        println(`cancelled${event.checkpoint ? `; resume from ${event.checkpoint}` : ''}`);
        break;
      default:
        break;
    }
  }) as ProgressWriter;
  writer.finish = () => {
    if (lineOpen) stream.write('\n');
    lineOpen = false;
  };
  return writer;
}
