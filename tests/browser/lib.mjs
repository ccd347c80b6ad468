// Shared helpers for the browser walk-throughs: a headless Debian chromium, axe checks,
// screenshots kept as files, and a minimal TAP-like runner (no test framework to install).
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const here = dirname(fileURLToPath(import.meta.url));

/** Folder where screenshots are written (kept, not gitignored): tests/browser/screenshots/. */
export const SCREENSHOT_DIR = join(here, 'screenshots');

/** Launches the system chromium: playwright's own browser download is not reachable here. */
export function launch(options = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // Running as root in a container: chromium refuses to start with its sandbox on.
    args: ['--no-sandbox'],
    ...options,
  });
}

/** axe rule tags checked by default (WCAG 2.0 A and AA); add 'wcag21a', 'wcag21aa' for 2.1. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa'];

/**
 * Runs axe on the current page and throws when a violation is serious or critical;
 * minor/moderate ones are returned so a step can log them.
 * axe-core is injected from node_modules: nothing is fetched.
 */
export async function checkAxe(page, label, tags = AXE_TAGS) {
  const results = await new AxeBuilder({ page }).withTags(tags).analyze();
  const blocking = results.violations.filter(
    (v) => v.impact === 'serious' || v.impact === 'critical',
  );
  if (blocking.length > 0) {
    const lines = blocking.map((v) => {
      const targets = v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(', ');
      return `  [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} node(s): ${targets})`;
    });
    throw new Error(`axe on ${label}: ${blocking.length} serious/critical violation(s)\n${lines.join('\n')}`);
  }
  return results.violations;
}

/** Full-page screenshot to tests/browser/screenshots/<role>-<name>.png; returns the path. */
export async function screenshot(page, role, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${role}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Records what the page reports as broken: console errors (CSP refusals show up there),
 * uncaught exceptions, and responses >= 400. Call once per page, right after newPage().
 */
export function watchPage(page) {
  const problems = [];
  page.on('console', (msg) => {
    // The location names the failing URL, which Chromium leaves out of 404 messages.
    if (msg.type() === 'error') problems.push(`console: ${msg.text()} (${msg.location().url || '?'})`);
  });
  page.on('pageerror', (err) => problems.push(`exception: ${err.stack || err.message}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  page.on('requestfailed', (req) => {
    // Chromium fetches the favicon on its own and drops it when the page moves on (a form
    // sent before it arrived, as a CI run saw): not a fault of the page. A missing favicon
    // still shows as an HTTP error above.
    if (req.url().includes('/favicon') && req.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`);
  });
  return {
    problems,
    /** Throws if anything was recorded since the last call, then forgets it. */
    assertClean(label) {
      const found = problems.splice(0);
      if (found.length > 0) throw new Error(`${label}: ${found.length} problem(s)\n  ${found.join('\n  ')}`);
    },
  };
}

let stepCount = 0;
let failed = 0;

/**
 * Runs one named step; prints `ok N - name` or `not ok N - name` with the error, and marks
 * the process as failed without stopping the walk (later steps may still be meaningful).
 * Returns true when the step passed, so a caller can skip steps that depend on it.
 */
export async function step(name, fn) {
  stepCount += 1;
  try {
    await fn();
    console.log(`ok ${stepCount} - ${name}`);
    return true;
  } catch (err) {
    failed += 1;
    process.exitCode = 1;
    console.log(`not ok ${stepCount} - ${name}`);
    // Playwright colours its call logs; strip the escapes so the output stays plain text.
    const text = (err && err.stack ? err.stack : String(err)).replace(/\x1b\[[0-9;]*m/g, '');
    console.log(text.split('\n').map((l) => `  # ${l}`).join('\n'));
    return false;
  }
}

/** Prints the closing summary line ("N passed, N failed") that CI reads. */
export function summary() {
  console.log(`${stepCount - failed} passed, ${failed} failed`);
  if (stepCount === 0) process.exitCode = 1;
}

/** Reads a required environment variable or exits with a clear message. */
export function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`missing environment variable ${name}`);
    process.exit(2);
  }
  return value;
}

/** Asserts, with a message naming what was expected. */
export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * What loading `url` costs a browser with an empty cache (the first visit): the bytes
 * received for the page and everything it loads (headers and bodies as they came over the
 * wire, compressed), once the network is idle. Opens its own context with the cookies of
 * `context`, so the session is the same and the cache is not. Returns `{ bytes, requests }`.
 */
export async function coldWeight(browser, context, url) {
  const cold = await browser.newContext({ storageState: await context.storageState() });
  try {
    const page = await cold.newPage();
    const finished = [];
    page.on('requestfinished', (request) => finished.push(request.sizes()));
    await page.goto(url, { waitUntil: 'networkidle' });
    const sizes = await Promise.all(finished);
    const bytes = sizes.reduce((sum, s) => sum + s.responseHeadersSize + s.responseBodySize, 0);
    return { bytes, requests: sizes.length };
  } finally {
    await cold.close();
  }
}
