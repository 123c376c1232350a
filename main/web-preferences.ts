// The security settings the studio's window runs with, in one place (the shell and its
// test read them from here).

/** Secure webPreferences: isolated, sandboxed, no Node in the page. */
export function webPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    spellcheck: false,
  } as const;
}
