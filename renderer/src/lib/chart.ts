// chart.js with only what the studio draws (line charts of {x, y} points on linear/log axes).
import { Chart, Legend, LinearScale, LogarithmicScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

export { Chart };

export const SERIES_COLORS = ['#3b6fd8', '#d9822b', '#12a179', '#a35bd6', '#d6455d', '#2a9fb5', '#7d8a16', '#8c6239'];

/** CSS custom property of the document (chart colours follow the theme). */
export function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}
