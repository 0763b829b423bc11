import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { requirePeers } from '@cohort/peers/vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageDir } from '../test/build.js';
import { routeEcho, startMember, startProxy, type TestMember } from '../test/harness.js';
import { AdminServer } from './server.js';

// The status page in a real browser: Debian's headless Chromium driven by playwright-core.
// With JavaScript, draining a member through the page (token typed, button clicked) shows on the
// page within a second without a reload, and so does a change made elsewhere. Without
// JavaScript, the same button posts the form and the page comes back with the change. A
// screenshot of each is kept in the git-ignored test-artifacts/ folder.

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'browser-token-0123456789abcdef';
const ARTIFACTS = join(packageDir, 'test-artifacts');
// Missing chromium: skipped with the install command, or a failure under CI=true.
const missing = requirePeers(['chromium'], 'cohort-proxy status page in Chromium').skip;

/** A fresh browser profile in a temporary directory, with the flags a shared CI machine needs. */
async function launch(javaScriptEnabled: boolean): Promise<{
  context: BrowserContext;
  close: () => Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), 'cohort-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    javaScriptEnabled,
    viewport: { width: 1500, height: 700 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

describe.skipIf(missing)('the status page in headless Chromium', () => {
  let a: TestMember;
  let b: TestMember;
  let p: Awaited<ReturnType<typeof startProxy>>;
  let admin: AdminServer;
  let page: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    a = await startMember(routeEcho('a'));
    b = await startMember(routeEcho('b'));
    p = await startProxy({
      admin: { token: TOKEN },
      balancers: [
        {
          name: 'app',
          affinity: { dialect: 'none' },
          members: [
            { url: a.url, route: 'a' },
            { url: b.url, route: 'b' },
          ],
        },
      ],
    });
    // Pushes only on changes here (a minute between timed pushes), so what the page shows
    // within the second comes from the change itself.
    admin = new AdminServer(p.proxy, { pushIntervalMs: 60_000 });
    const addr = await admin.listen(0, '127.0.0.1');
    page = `http://127.0.0.1:${addr.port}/cohort-status`;
    for (let i = 0; i < 6; i++) await (await fetch(`${p.url}/`)).text();
  });
  afterAll(async () => {
    await admin?.close();
    await p?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('drains a member through the page and shows it live within 1 s, without a reload', async () => {
    const browser = await launch(true);
    try {
      const tab = await browser.context.newPage();
      const problems: string[] = [];
      tab.on('pageerror', (e) => problems.push(e.message));
      tab.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      await tab.goto(page);
      await tab.locator('#live.on').waitFor({ timeout: 10_000 });
      await tab.evaluate(() => ((globalThis as Record<string, unknown>)['marker'] = 'same page'));
      const state = tab.locator('tr[data-key="app/b"] td[data-f="state"]');
      expect(await state.textContent()).toBe('active');

      await tab.fill('#token', TOKEN);
      const t0 = Date.now();
      await tab.click('button[value="draining|app|b"]');
      await expect
        .poll(() => state.textContent(), { timeout: 1000, interval: 20 })
        .toBe('draining');
      const ms = Date.now() - t0;
      expect(ms).toBeLessThan(1000);
      expect(await state.getAttribute('class')).toBe('state-draining');
      expect(p.proxy.status().balancers[0]!.members[1]!.state).toBe('draining');
      expect(await tab.locator('#message').textContent()).toBe('app/b: draining');

      // A change made elsewhere (another operator, the API) shows up the same way.
      const t1 = Date.now();
      p.proxy.setMember('app', 'a', { weight: 5 });
      const weight = tab.locator('tr[data-key="app/a"] td[data-f="weight"]');
      await expect.poll(() => weight.textContent(), { timeout: 1000, interval: 20 }).toBe('5');
      expect(await tab.inputValue('input[name="weight|app|a"]')).toBe('5');
      expect(Date.now() - t1).toBeLessThan(1000);

      expect(problems).toEqual([]);

      // A wrong token is refused and said so; nothing changes.
      await tab.fill('#token', 'not-the-token');
      await tab.click('button[value="stopped|app|a"]');
      await expect
        .poll(() => tab.locator('#message').textContent(), { timeout: 2000 })
        .toBe('wrong token');
      expect(p.proxy.status().balancers[0]!.members[0]!.state).toBe('active');

      // Still the same document: no navigation happened.
      expect(await tab.evaluate(() => (globalThis as Record<string, unknown>)['marker'])).toBe(
        'same page',
      );
      expect(tab.url()).toBe(page);
      expect(problems).toEqual([
        'Failed to load resource: the server responded with a status of 401 (Unauthorized)',
      ]);
      const shot = join(ARTIFACTS, 'status-page-live.png');
      await tab.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(5000);
      console.log(
        `[status page] drained through the page, shown after ${ms} ms; screenshot ${shot}`,
      );
    } finally {
      p.proxy.setMember('app', 'b', { state: 'ready' });
      p.proxy.setMember('app', 'a', { weight: 1 });
      await browser.close();
    }
  }, 90_000);

  it('works without JavaScript: the button posts the form and the page comes back changed', async () => {
    const browser = await launch(false);
    try {
      const tab = await browser.context.newPage();
      await tab.goto(page);
      expect(await tab.locator('#live').textContent()).toMatch(/^Static page/);
      await tab.fill('#token', TOKEN);
      await Promise.all([tab.waitForURL(/\?ok=/), tab.click('button[value="disabled|app|b"]')]);
      expect(await tab.locator('tr[data-key="app/b"] td[data-f="state"]').textContent()).toBe(
        'disabled',
      );
      expect(await tab.locator('#message').textContent()).toBe('app/b: disabled');
      expect(p.proxy.status().balancers[0]!.members[1]!.state).toBe('disabled');
      await tab.screenshot({ path: join(ARTIFACTS, 'status-page-no-js.png'), fullPage: true });
    } finally {
      p.proxy.setMember('app', 'b', { state: 'ready' });
      await browser.close();
    }
  }, 90_000);
});
