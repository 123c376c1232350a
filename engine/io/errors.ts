// Errors that name what was wrong with which input, so every caller can show
// "file: what was expected, what was found".

/** Bad content in a file the user gave us. */
export class FormatError extends Error {
  readonly file: string;
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'FormatError';
    this.file = file;
  }
}
