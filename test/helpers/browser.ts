import { chromium, type Browser } from 'playwright-core';

/**
 * The browser of the browser tests: Debian's `chromium` (apt-get install chromium), driven by playwright-core, so
 * that no test downloads a browser.
 */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless chromium as the tests run it: no sandbox (a container's root user has none), no GPU, no first-run
 * screens, and no traffic of the browser's own (background networking, component updates, sync, QUIC).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Launches headless {@link CHROMIUM} with {@link CHROMIUM_ARGS}; the caller closes it.
 * No skipping here: where chromium is missing or does not start, this rejects (playwright's error names the path),
 * so the suite's beforeAll, and with it every test of the suite, fails; a browser test never passes without its
 * browser.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
