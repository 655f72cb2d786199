/**
 * The folder that holds sockshard's package.json: the repository root when sockshard runs from its sources
 * (`src/`, under tsx or vitest), the installed package's folder when it runs from its build (`dist/src/`).
 * Found by walking up from this file, so that no module has to know how deep it sits in either layout.
 */
import { existsSync } from 'node:fs';

function findPackageRoot(start: URL): URL {
  for (let folder = start; ; folder = new URL('../', folder)) {
    if (existsSync(new URL('package.json', folder))) return folder;
    if (folder.pathname === '/') throw new Error(`no package.json above ${start.pathname}`);
  }
}

/** A `file:` URL ending in `/`. */
export const PACKAGE_ROOT: URL = findPackageRoot(new URL('.', import.meta.url));
