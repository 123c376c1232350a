// The built window (renderer-dist/) as both hosts serve it: Electron through its app://
// protocol (main/app-protocol.ts), browser mode over HTTP (server/studio-server.ts). One
// path check, one content-type table, one Content-Security-Policy.

import { promises as fs } from 'node:fs';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** A relative path split into safe segments (no `..`, no absolute parts, no NUL), or null. */
export function safeRelativePath(relative: string): string[] | null {
  if (typeof relative !== 'string' || relative.length === 0 || relative.length > 1024) return null;
  const parts = relative.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || part.includes('\\') || part.includes('\0') || /^[A-Za-z]:/.test(part)) return null;
  }
  return parts;
}

/** decodeURIComponent that answers null for a malformed %-encoding instead of throwing. */
export function decodePath(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * The window's Content-Security-Policy: its own scripts and styles only, images from
 * itself and data: URLs (thumbnails), no plugins, frames, forms or base changes; `connect`
 * adds what the transport needs (browser mode: its WebSocket).
 */
export function studioCsp(connect: string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // Svelte sets style attributes (widths of bars, chart sizes).
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src ${["'self'", ...connect].join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export type StaticLookup = { file: string; size: number; type: string } | { status: 400 | 404 | 500; reason: string };

/**
 * The file of `root` a URL path (still %-encoded, without the leading slash or with it)
 * names. Unknown non-asset paths get index.html (the window has one page); missing
 * assets are 404; a path that leaves `root` or is malformed is 400.
 */
export async function findStaticFile(root: string, urlPath: string): Promise<StaticLookup> {
  const decoded = decodePath(urlPath);
  if (decoded === null) return { status: 400, reason: 'malformed %-encoding in the path' };
  const relative = decoded.replace(/^\/+/, '') || 'index.html';
  const parts = safeRelativePath(relative);
  if (!parts) return { status: 400, reason: 'bad path' };
  const file = path.join(root, ...parts);
  const stat = await fs.stat(file).catch(() => null);
  if (stat?.isFile()) return { file, size: stat.size, type: contentType(file) };
  if (relative.startsWith('assets/')) return { status: 404, reason: 'not found' };
  const index = path.join(root, 'index.html');
  const indexStat = await fs.stat(index).catch(() => null);
  if (!indexStat) return { status: 500, reason: `the studio is not built: ${index} is missing (run npm run build:renderer)` };
  return { file: index, size: indexStat.size, type: contentType(index) };
}
