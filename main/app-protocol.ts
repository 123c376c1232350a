// The window's own origin, app://studio/: renderer-dist/ served through a custom
// protocol instead of file://, so the page gets a Content-Security-Policy header (its
// scripts only, no network, no frames, no plugins), a real origin the IPC trust check
// can compare exactly, and no file:// privileges over the rest of the disk.

import { promises as fs } from 'node:fs';
import { findStaticFile, studioCsp } from '../node/studio/static-files.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'studio';
/** The one page of the window. */
export const APP_PAGE_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;
/** The window's CSP: its own scripts and styles, images from itself and data: URLs. */
export const APP_CSP = studioCsp();

/** Registered before the app is ready: a standard, secure scheme (origin, relative URLs, no mixed content). */
export const APP_SCHEME_PRIVILEGES = { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } };

/** Whether `url` is the studio's page itself (its hash aside): the exact URL, not a prefix. */
export function sameDocument(url: string, pageUrl: string): boolean {
  const strip = (text: string) => {
    try {
      const parsed = new URL(text);
      parsed.hash = '';
      return parsed.href;
    } catch {
      return null;
    }
  };
  const page = strip(pageUrl);
  return page !== null && strip(url) === page;
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Security-Policy': APP_CSP, 'X-Content-Type-Options': 'nosniff' } });
}

/** The app:// handler: files of `rendererDir` with the CSP, nothing else. */
export function appProtocolHandler(rendererDir: string): (request: Pick<Request, 'url' | 'method'>) => Promise<Response> {
  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return plain(400, 'bad URL');
    }
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return plain(404, 'not found');
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'method not allowed');
    const found = await findStaticFile(rendererDir, url.pathname);
    if ('status' in found) return plain(found.status, found.reason);
    const body = request.method === 'HEAD' ? null : await fs.readFile(found.file);
    return new Response(body, {
      status: 200,
      headers: { 'Content-Type': found.type, 'Content-Security-Policy': APP_CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' },
    });
  };
}
