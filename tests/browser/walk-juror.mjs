// A juror's path: sign in, the assigned entries with the progress, a production shown in
// the page, a mark out of range refused next to its criterion, the grid sent, the
// progress moved. Driven by tests/browser_juror.rs (PHAROS_BASE_URL, PHAROS_JUROR_EMAIL,
// PHAROS_JUROR_PASSWORD); the first entry is « Briser le silence ».
import {
  checkAxe, expect, launch, requireEnv, screenshot, step, summary, watchPage,
} from './lib.mjs';

const base = requireEnv('PHAROS_BASE_URL').replace(/\/+$/, '');
const email = requireEnv('PHAROS_JUROR_EMAIL');
const password = requireEnv('PHAROS_JUROR_PASSWORD');

const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 320, height: 640 };

async function looksRight(page, name) {
  await checkAxe(page, name);
  await screenshot(page, 'juror', `${name}-1280`);
  await page.setViewportSize(MOBILE);
  await screenshot(page, 'juror', `${name}-320`);
  await checkAxe(page, `${name} at 320 px`);
  await page.setViewportSize(DESKTOP);
}

const browser = await launch();
try {
  const page = await (await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' })).newPage();
  const watch = watchPage(page);

  const signedIn = await step('the juror signs in and lands on the entries assigned', async () => {
    await page.goto(`${base}/connexion`);
    await page.locator('[name="email"]').fill(email);
    await page.locator('[name="password"]').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/jury'),
      page.getByRole('button', { name: 'Se connecter' }).click(),
    ]);
    const progress = await page.locator('main').innerText();
    expect(progress.includes('0 note sur 2'), `the page reads: ${progress.slice(0, 300)}`);
    await looksRight(page, 'jury');
    watch.assertClean('jury list');
  });

  if (signedIn) {
    await step('the production is shown in the page with the grid', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname.startsWith('/jury/participations/')),
        page.getByRole('link', { name: 'Briser le silence' }).click(),
      ]);
      const image = page.locator('main img');
      await image.waitFor();
      const width = await image.evaluate((img) => img.complete && img.naturalWidth);
      expect(width === 320, `the poster is not displayed (natural width ${width})`);
      await looksRight(page, 'production');
      watch.assertClean('production');
    });

    await step('a mark out of range is refused next to its criterion', async () => {
      await page.getByLabel(/message/i).fill('25');
      await page.getByLabel(/créativité/i).fill('12');
      await page.getByLabel(/réalisation/i).fill('15');
      await page.getByLabel(/valeurs/i).fill('18');
      await page.getByRole('button', { name: 'Enregistrer mes notes' }).click();
      const error = await page.locator('#note_message-erreur').innerText();
      expect(error.includes('« 25 »'), `the error reads "${error}"`);
      await checkAxe(page, 'grid with an error');
      // The 422 of the refused grid is expected; nothing else.
      const found = watch.problems.splice(0).filter((p) => !p.includes('422'));
      expect(found.length === 0, found.join('\n'));
    });

    await step('the grid is sent and the progress moves', async () => {
      await page.getByLabel(/message/i).fill('16');
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get('fait') === 'notee'),
        page.getByRole('button', { name: 'Enregistrer mes notes' }).click(),
      ]);
      const alert = await page.locator('.fr-alert--success').innerText();
      expect(alert.includes('Vos notes sont enregistrées'), `alert: "${alert}"`);
      await page.getByRole('link', { name: 'Revenir à la liste' }).click();
      await page.waitForURL((url) => url.pathname === '/jury');
      const text = await page.locator('main').innerText();
      expect(text.includes('1 note sur 2'), `the list reads: ${text.slice(0, 300)}`);
      watch.assertClean('scored');
    });
  }
} finally {
  await browser.close();
  summary();
}
