import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { detectArchive, extractArchive, safeEntryPath } from '../../../node/data/archive.js';
import { makeTar, makeTempDir, makeZip, removeDir } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await makeTempDir('archive');
});
afterAll(async () => {
  await removeDir(root);
});

const big = Buffer.alloc(200_000);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 7)) & 255;

async function write(name: string, bytes: Buffer): Promise<string> {
  const file = path.join(root, name);
  await fs.writeFile(file, bytes);
  return file;
}

async function read(dir: string, name: string): Promise<Buffer> {
  return fs.readFile(path.join(dir, name));
}

describe('zip', () => {
  it('extracts stored and deflated entries and directories', async () => {
    const file = await write('ok.zip', makeZip([
      { name: 'data/', directory: true },
      { name: 'data/a/hello.txt', data: 'hello' },
      { name: 'data/b/big.bin', data: big, store: true },
      { name: 'data/b/big-deflated.bin', data: big },
      { name: 'data/empty.txt', data: '' },
      { name: '__MACOSX/data/._hello.txt', data: 'fork' },
    ]));
    expect(await detectArchive(file)).toBe('zip');
    const dest = path.join(root, 'ok-out');
    const result = await extractArchive(file, dest);
    expect(result).toMatchObject({ kind: 'zip', files: 4, bytes: 5 + 2 * big.length });
    expect(result.skipped).toEqual([{ name: '__MACOSX/data/._hello.txt', reason: 'macOS resource fork' }]);
    expect((await read(dest, 'data/a/hello.txt')).toString()).toBe('hello');
    expect((await read(dest, 'data/b/big.bin')).equals(big)).toBe(true);
    expect((await read(dest, 'data/b/big-deflated.bin')).equals(big)).toBe(true);
    expect((await read(dest, 'data/empty.txt')).length).toBe(0);
  });

  it('rejects entries escaping the destination and leaves nothing behind', async () => {
    const file = await write('evil.zip', makeZip([{ name: 'fine.txt', data: 'x' }, { name: 'a/../../escape.txt', data: 'x' }]));
    const dest = path.join(root, 'evil-out');
    await expect(extractArchive(file, dest)).rejects.toThrow(`${file}: entry "a/../../escape.txt" climbs out of the destination`);
    await expect(fs.stat(dest)).rejects.toThrow(/ENOENT/);
    await expect(fs.stat(path.join(root, 'escape.txt'))).rejects.toThrow(/ENOENT/);
    expect((await fs.readdir(root)).filter((n) => n.includes('evil-out'))).toEqual([]);
    expect(() => safeEntryPath(dest, '/etc/passwd', 'z.zip')).toThrow('z.zip: entry "/etc/passwd" has an absolute path');
    expect(() => safeEntryPath(dest, 'C:\\evil.txt', 'z.zip')).toThrow(/absolute path/);
    expect(safeEntryPath(dest, './a/./b.txt', 'z.zip')).toBe(path.join(dest, 'a', 'b.txt'));
  });

  it('decodes legacy CP437 names and UTF-8 names', async () => {
    // "Äpfel/süß.txt" as an old Windows zip tool writes it: CP437 bytes, no UTF-8 flag.
    const cp437 = Buffer.from([0x8e, 0x70, 0x66, 0x65, 0x6c, 0x2f, 0x73, 0x81, 0xe1, 0x2e, 0x74, 0x78, 0x74]);
    const file = await write('legacy.zip', makeZip([
      { name: '', rawName: cp437, data: 'apples' },
      { name: 'Birnen/grün.txt', data: 'pears' },
    ]));
    const dest = path.join(root, 'legacy-out');
    const result = await extractArchive(file, dest);
    expect(result.files).toBe(2);
    expect((await read(dest, 'Äpfel/süß.txt')).toString()).toBe('apples');
    expect((await read(dest, 'Birnen/grün.txt')).toString()).toBe('pears');
  });

  it('caps the total size it expands to, leaving nothing behind', async () => {
    const file = await write('bomb.zip', makeZip([{ name: 'a.bin', data: big }, { name: 'b.bin', data: big }]));
    const dest = path.join(root, 'bomb-out');
    await expect(extractArchive(file, dest, { maxBytes: 300_000 })).rejects.toThrow(`${file}: expands to more than 300000 bytes`);
    await expect(fs.stat(dest)).rejects.toThrow(/ENOENT/);
    expect((await fs.readdir(root)).filter((n) => n.includes('bomb-out'))).toEqual([]);
  });

  it('detects corrupt data with the CRC and a truncated file', async () => {
    const zip = makeZip([{ name: 'x.bin', data: big, store: true }]);
    zip[30 + 'x.bin'.length + 1000] ^= 0xff;
    const corrupt = await write('corrupt.zip', zip);
    await expect(extractArchive(corrupt, path.join(root, 'corrupt-out'))).rejects.toThrow(`${corrupt}: entry "x.bin" fails its CRC-32 check`);
    const truncated = await write('truncated.zip', makeZip([{ name: 'x.bin', data: big }]).subarray(0, 5000));
    await expect(extractArchive(truncated, path.join(root, 'truncated-out'))).rejects.toThrow(`${truncated}: is not a complete zip file`);
  });
});

describe('tar', () => {
  const entries = [
    { name: 'set/', directory: true },
    { name: 'set/cls/one.txt', data: 'one' },
    { name: 'set/cls/big.bin', data: big },
    { name: 'set/cls/link', type: '2', data: '../../../etc/passwd' },
  ];

  it('extracts .tar and .tar.gz, skipping links', async () => {
    for (const [name, bytes, kind] of [['ok.tar', makeTar(entries), 'tar'], ['ok.tgz', zlib.gzipSync(makeTar(entries)), 'tar.gz']] as const) {
      const file = await write(name, bytes);
      expect(await detectArchive(file)).toBe(kind);
      const dest = path.join(root, `${name}-out`);
      const result = await extractArchive(file, dest);
      expect(result).toMatchObject({ kind, files: 2, skipped: [{ name: 'set/cls/link', reason: 'symbolic link' }] });
      expect((await read(dest, 'set/cls/one.txt')).toString()).toBe('one');
      expect((await read(dest, 'set/cls/big.bin')).equals(big)).toBe(true);
      await expect(fs.lstat(path.join(dest, 'set/cls/link'))).rejects.toThrow(/ENOENT/);
    }
  });

  it('rejects escaping paths, bad checksums and truncation', async () => {
    const evil = await write('evil.tar', makeTar([{ name: '../outside.txt', data: 'x' }]));
    await expect(extractArchive(evil, path.join(root, 'evil-tar-out'))).rejects.toThrow(`${evil}: entry "../outside.txt" climbs out`);
    const tar = makeTar([{ name: 'a.txt', data: 'x' }]);
    tar[0] = 'b'.charCodeAt(0);
    const bad = await write('bad.tar', tar);
    await expect(extractArchive(bad, path.join(root, 'bad-tar-out'))).rejects.toThrow(/bad checksum/);
    const cut = await write('cut.tar.gz', zlib.gzipSync(makeTar([{ name: 'set/big.bin', data: big }])).subarray(0, 3000));
    await expect(extractArchive(cut, path.join(root, 'cut-out'))).rejects.toThrow(`${cut}: is truncated`);
    const tarBomb = await write('bomb.tar', makeTar([{ name: 'set/a.bin', data: big }, { name: 'set/b.bin', data: big }]));
    await expect(extractArchive(tarBomb, path.join(root, 'tar-bomb-out'), { maxBytes: 300_000 })).rejects.toThrow(`${tarBomb}: expands to more than 300000 bytes`);
    expect((await fs.readdir(root)).filter((n) => n.includes('tar-bomb-out'))).toEqual([]);
  });

  it('does not take a gzipped single file for a tarball', async () => {
    const file = await write('labels.gz', zlib.gzipSync(Buffer.from('just some bytes')));
    expect(await detectArchive(file)).toBeNull();
    await expect(extractArchive(file, path.join(root, 'nope'))).rejects.toThrow(`${file}: is not a zip, tar or tar.gz archive`);
  });
});
