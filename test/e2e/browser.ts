/**
 * Headless Chromium for UI tests: Debian's `chromium` (scripts/setup.sh installs it) driven by
 * playwright-core. Never `npx playwright install`: it downloads browsers.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** The browser binary, `CHROMIUM_PATH` or Debian's `/usr/bin/chromium`. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless browser run as root in a container, with no background traffic
 * (no sandbox: root cannot use Chromium's; the page under test is our own local UI).
 */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Chromium. Throws with the install command when the binary is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found: run \`apt-get install -y chromium\` (or npm run setup)`);
  }
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}
