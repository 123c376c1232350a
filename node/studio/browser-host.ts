// The host calls of browser mode: a page has no native dialogs and cannot reveal files;
// settings are the user's, except the folders the studio may use, which only the
// command line changes (learngene studio --allow DIR), never the page itself.

import { ConfigError } from '../../shared/config.js';
import type { SettingsPatch } from '../../shared/host.js';
import type { HostCalls } from './dispatch.js';
import type { SettingsStore } from './settings.js';

export function browserHost(settings: SettingsStore): HostCalls {
  return {
    openDialog: async () => null,
    reveal: async () => false,
    getSettings: async () => settings.get(),
    setSettings: async (patch: SettingsPatch) => {
      if (patch && typeof patch === 'object' && 'allowedFolders' in patch) {
        throw new ConfigError([{ field: 'settings.allowedFolders', message: 'can only be changed from the command line: learngene studio --allow DIR' }]);
      }
      return settings.set(patch);
    },
  };
}
