// A WebSocket client at the level of bytes, for the probes a well-behaved client (ws, a
// browser) cannot send: malformed upgrade paths, oversized frame headers, reserved
// opcodes, invalid UTF-8, a reader that stops reading.

import { randomBytes } from 'node:crypto';
import net from 'node:net';

export interface Upgraded {
  socket: net.Socket;
  /** The HTTP status line's code. */
  status: number;
  /** Bytes after the response head (the first frames). */
  rest: Buffer;
}

/** Sends an upgrade request for `path` as written (no URL normalisation) and reads the answer's head. */
export function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buffer.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      resolve({ socket, status, rest: buffer.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => resolve({ socket, status: 0, rest: buffer }));
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}

/** A masked client frame; `declaredLength` overrides the length the header announces (the payload sent stays `payload`). */
export function clientFrame(opcode: number, payload: Buffer, options: { declaredLength?: number } = {}): Buffer {
  const length = options.declaredLength ?? payload.length;
  const head: number[] = [0x80 | opcode];
  if (length < 126) head.push(0x80 | length);
  else if (length < 65536) head.push(0x80 | 126, length >> 8, length & 0xff);
  else {
    head.push(0x80 | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from(head), mask, masked]);
}

/** Reads server frames until a close frame (its status code) or the end of the connection (null). */
export function closeCode(socket: net.Socket, already: Buffer = Buffer.alloc(0)): Promise<number | null> {
  return new Promise((resolve) => {
    let buffer = already;
    const scan = () => {
      for (;;) {
        if (buffer.length < 2) return;
        const opcode = buffer[0]! & 0x0f;
        let length = buffer[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        if (opcode === 0x8) {
          socket.destroy();
          return resolve(length >= 2 ? buffer.readUInt16BE(offset) : null);
        }
        buffer = buffer.subarray(offset + length);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      scan();
    });
    socket.on('close', () => resolve(null));
    socket.on('error', () => resolve(null));
    scan();
  });
}
