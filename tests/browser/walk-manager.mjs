// Walks the pages in a real browser as each role would, and fails on any axe violation
// (serious or critical), console error (CSP refusals included), uncaught exception or
// HTTP error on the way. Screenshots go to tests/browser/screenshots/.
//
// Driven by the Rust test `tests/browser.rs`, which starts Pharos and seeds it:
//   PHAROS_BASE_URL, PHAROS_MANAGER_EMAIL, PHAROS_MANAGER_PASSWORD: the pole manager;
//   PHAROS_OTHER_TOKEN: another session of hers, for the command the dashboard must show
//     live; PHAROS_DEPLOYMENT_ID: the deployment whose team gets its fifth trained member;
//   PHAROS_DOWNLOAD_DIR: where the XLSX export is saved, for the Rust side to open.
import { join } from 'node:path';
import {
  checkAxe, coldWeight, expect, launch, requireEnv, screenshot, step, summary, watchPage,
} from './lib.mjs';

const base = requireEnv('PHAROS_BASE_URL').replace(/\/+$/, '');
const email = requireEnv('PHAROS_MANAGER_EMAIL');
const password = requireEnv('PHAROS_MANAGER_PASSWORD');
const otherToken = requireEnv('PHAROS_OTHER_TOKEN');
const deployment = requireEnv('PHAROS_DEPLOYMENT_ID');
const downloads = requireEnv('PHAROS_DOWNLOAD_DIR');

const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 320, height: 640 };

/** The text of the first figure of the trained-teams group (« 1 sur 3 »). */
const teams = (page) => page.locator('#equipes .pharos-figure__detail').first();

async function looksRight(page, name) {
  await checkAxe(page, name);
  await page.setViewportSize(DESKTOP);
  await screenshot(page, 'manager', `${name}-1280`);
  await page.setViewportSize(MOBILE);
  await screenshot(page, 'manager', `${name}-320`);
  await checkAxe(page, `${name} at 320 px`);
  await page.setViewportSize(DESKTOP);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR', acceptDownloads: true });
  const page = await context.newPage();
  const watch = watchPage(page);

  await step('the sign-in page passes axe', async () => {
    await page.goto(`${base}/connexion`);
    await looksRight(page, 'connexion');
    watch.assertClean('sign-in page');
  });

  const signedIn = await step('the manager signs in and lands on the dashboard', async () => {
    await page.locator('[name="email"]').fill(email);
    await page.locator('[name="password"]').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/tableau-de-bord'),
      page.getByRole('button', { name: 'Se connecter' }).click(),
    ]);
    const h1 = await page.locator('h1').first().innerText();
    expect(h1.includes('Tableau de bord'), `h1 is "${h1}"`);
    await teams(page).waitFor();
    const before = await teams(page).innerText();
    expect(before.includes('0 sur 3'), `trained teams read "${before}", expected 0 sur 3`);
    await page.locator('map-chart svg').first().waitFor({ timeout: 10000 });
    await looksRight(page, 'tableau-de-bord');
    watch.assertClean('dashboard');
  });

  if (signedIn) {
    await step('the dashboard changes live after another session\'s command', async () => {
      // A mark on the window: gone if the page reloaded instead of updating.
      await page.evaluate(() => { window.pharosMark = 'unchanged'; });
      const response = await fetch(`${base}/api/v1/phare/deployments/${deployment}/team-members`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${otherToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          person: { display_name: 'Membre 5', email: 'membre5@ac-toulouse.fr' },
          function: 'enseignant', trained: true, training_minutes: 720, mpp_trained: false,
        }),
      });
      expect(response.status === 201, `the other session's command answered ${response.status}`);
      try {
        await page.waitForFunction(
          () => document.querySelector('#equipes .pharos-figure__detail')?.textContent.includes('1 sur 3'),
          null, { timeout: 15000 },
        );
      } catch (err) {
        // What the page showed: the figure, and whether a notice came at all.
        const shown = await teams(page).innerText().catch(() => '?');
        const status = await page.locator('#etat-direct').innerText().catch(() => '?');
        throw new Error(`${err.message}; the figure reads "${shown}", the live status "${status}"`);
      }
      expect(await page.evaluate(() => window.pharosMark) === 'unchanged', 'the page reloaded');
      const status = await page.locator('#etat-direct').innerText();
      expect(status.includes('mis à jour'), `the live status reads "${status}"`);
      watch.assertClean('live refresh');
    });

    await step('the dashboard, the heaviest page, weighs under 500 KB on a first visit', async () => {
      // It alone adds the charts (DSFRChart.js: Vue and Chart.js) to what every page loads.
      const { bytes, requests } = await coldWeight(browser, context, `${base}/tableau-de-bord`);
      console.log(`# page weight: /tableau-de-bord ${bytes} bytes in ${requests} requests`);
      expect(bytes < 500_000, `the dashboard weighs ${bytes} bytes on a first visit`);
    });

    await step('the manager moves the date back and sees the earlier figure', async () => {
      const max = await page.locator('#date').getAttribute('max');
      const yesterday = new Date(`${max}T12:00:00Z`);
      yesterday.setUTCDate(yesterday.getUTCDate() - 1);
      await page.locator('#date').fill(yesterday.toISOString().slice(0, 10));
      await Promise.all([
        page.waitForURL((url) => url.searchParams.has('date')),
        page.getByRole('button', { name: 'Afficher' }).click(),
      ]);
      const notice = await page.locator('.fr-notice').innerText();
      expect(notice.includes('Chiffres tels qu\'ils étaient le'), `notice: "${notice}"`);
      const then = await teams(page).innerText();
      // Yesterday the team had four trained members: no school at the target yet.
      expect(then.includes('0 sur 3'), `yesterday's trained teams read "${then}"`);
      await looksRight(page, 'tableau-de-bord-date');
      await Promise.all([
        page.waitForURL((url) => !url.searchParams.has('date')),
        page.getByRole('link', { name: 'Revenir à aujourd\'hui' }).click(),
      ]);
      const now = await teams(page).innerText();
      expect(now.includes('1 sur 3'), `today's trained teams read "${now}"`);
      watch.assertClean('time travel');
    });

    await step('the manager downloads the dashboard as XLSX', async () => {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Télécharger le tableau de bord (XLSX)' }).click(),
      ]);
      const name = download.suggestedFilename();
      expect(name.endsWith('.xlsx'), `downloaded "${name}"`);
      await download.saveAs(join(downloads, name));
      watch.assertClean('export');
    });

    await step('the manager signs out and is back on the sign-in page', async () => {
      // At 320 px the DSFR moves the header's buttons into the « Menu » modal.
      await page.setViewportSize(DESKTOP);
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/connexion'),
        page.getByRole('button', { name: 'Se déconnecter' }).click(),
      ]);
      expect(await page.locator('[name="email"]').count() === 1, 'no email field');
      watch.assertClean('sign-out');
    });
  }
} finally {
  await browser.close();
  summary();
}
