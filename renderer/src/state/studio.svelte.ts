// App-wide state: the project, the backends, the settings, the connection.
import type { BackendInfo, ProjectInfo } from '../../../shared/api.js';
import type { SettingsPatch, StudioSettings, Theme } from '../../../shared/host.js';
import { api, host, onConnectionState } from '../lib/api.js';
import type { ConnectionState } from '../lib/ws-client.js';

class Studio {
  project = $state.raw<ProjectInfo | null>(null);
  backends = $state.raw<BackendInfo[] | null>(null);
  backendsError = $state<string | null>(null);
  settings = $state.raw<StudioSettings | null>(null);
  connection = $state<ConnectionState>('connecting');
  /** Errors the whole window should show (failed calls outside a form). */
  notice = $state<{ kind: 'error' | 'info'; text: string } | null>(null);

  theme: Theme = $derived(this.settings?.theme ?? 'system');
  /** The backend new jobs use when the user picks none: the setting, else the fastest usable. */
  defaultBackend = $derived.by(() => {
    const wanted = this.settings?.defaultBackend;
    if (wanted && wanted !== 'auto') return wanted;
    return 'auto';
  });
  fastestBackend = $derived(this.backends?.find((b) => b.default) ?? this.backends?.find((b) => b.usable) ?? null);

  constructor() {
    onConnectionState((state) => (this.connection = state));
  }

  async init(): Promise<void> {
    const [project, settings] = await Promise.all([api.project(), host.getSettings()]);
    this.project = project;
    this.settings = settings;
    // Probing backends loads the engine in the backend: do not hold the window for it.
    this.refreshBackends();
  }

  refreshBackends(): void {
    api.backends().then(
      (b) => {
        this.backends = b;
        this.backendsError = null;
      },
      (error: unknown) => (this.backendsError = error instanceof Error ? error.message : String(error)),
    );
  }

  async updateSettings(patch: SettingsPatch): Promise<void> {
    try {
      this.settings = await host.setSettings(patch);
    } catch (error) {
      this.fail(error);
    }
  }

  fail(error: unknown): void {
    this.notice = { kind: 'error', text: error instanceof Error ? error.message : String(error) };
  }
}

export const studio = new Studio();
