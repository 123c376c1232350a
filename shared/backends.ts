// The names of the backends a job may run on, fastest first: the one list the request
// validator, the CLI help and node/backends.ts agree on. 'auto' (the fastest usable one)
// is accepted wherever a backend is chosen. Types and data only.

export const BACKEND_NAMES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a job, a resume or a setting may ask for: a backend by name, or 'auto'. */
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
