// Locates the wine driver fixtures fetched by scripts/fetch-wine.sh.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WINE_DIR = fileURLToPath(new URL('../fixtures/wine/', import.meta.url));

/** A reason to skip when the fixtures are absent; false when they are there. */
export const wineMissing: string | false =
  existsSync(`${WINE_DIR}x64`) && existsSync(`${WINE_DIR}x86`)
    ? false
    : `wine drivers absent from ${WINE_DIR}: run scripts/fetch-wine.sh`;

export function wineDrivers(arch: 'x64' | 'x86'): string[] {
  return readdirSync(`${WINE_DIR}${arch}`).filter((f) => f.endsWith('.sys')).sort();
}

export function wine(arch: 'x64' | 'x86', name: string): Buffer {
  return readFileSync(`${WINE_DIR}${arch}/${name}`);
}
