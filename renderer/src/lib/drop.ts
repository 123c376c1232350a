// Turning a drop or a file input into a `Dropped`: folders are walked with the
// File System Entry API, which must be read during the drop event itself.
import type { Dropped, DroppedFile } from './types.js';

interface EntryLike {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  file?(success: (file: File) => void, failure: (error: Error) => void): void;
  createReader?(): { readEntries(success: (entries: EntryLike[]) => void, failure: (error: Error) => void): void };
}

async function walk(entry: EntryLike, prefix: string, out: DroppedFile[]): Promise<void> {
  const relativePath = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile && entry.file) {
    const file = await new Promise<File>((resolve, reject) => entry.file!(resolve, reject));
    out.push({ file, relativePath });
    return;
  }
  if (entry.isDirectory && entry.createReader) {
    const reader = entry.createReader();
    // readEntries answers in chunks until an empty one.
    for (;;) {
      const chunk = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (chunk.length === 0) break;
      for (const child of chunk) await walk(child, relativePath, out);
    }
  }
}

/** Reads a drop event's items synchronously; the walk happens later. */
export function fromDataTransfer(transfer: DataTransfer): Dropped {
  const top = Array.from(transfer.files);
  const entries: (EntryLike | null)[] = Array.from(transfer.items ?? [])
    .filter((item) => item.kind === 'file')
    .map((item) => (typeof item.webkitGetAsEntry === 'function' ? (item.webkitGetAsEntry() as EntryLike | null) : null));
  return {
    top,
    async files() {
      const out: DroppedFile[] = [];
      if (entries.length > 0 && entries.every((e) => e !== null)) {
        for (const entry of entries) await walk(entry!, '', out);
        return out;
      }
      return top.map((file) => ({ file, relativePath: file.webkitRelativePath || file.name }));
    },
  };
}

/** A file input's selection (a webkitdirectory input keeps relative paths). */
export function fromFileList(list: FileList): Dropped {
  const top = Array.from(list);
  return {
    top,
    async files() {
      return top.map((file) => ({ file, relativePath: file.webkitRelativePath || file.name }));
    },
  };
}

/** Whether a drag carries files (not text or a link). */
export function carriesFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes('Files');
}
