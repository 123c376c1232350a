// The security settings every studio window runs with (the main window and the hidden
// compute window), in one place so the two cannot drift apart.

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
