// The school's pHARe walk: signs in, opens « pHARe », starts the deployment of the year,
// signs the charter, adds a trained member to the resource team; opens « Cohortes »,
// creates a collège cohort and records its counts by class level (under 10: the warning).
// axe and screenshots at 1280 and 320 px on every page; any console error, exception or
// unexpected HTTP error fails.
//
// Driven by `tests/browser_phare.rs`, which serves Pharos (clock in October 2026) and
// creates the collège and its account:
//   PHAROS_BASE_URL, PHAROS_SCHOOL_EMAIL, PHAROS_SCHOOL_PASSWORD.
import {
  checkAxe, expect, launch, requireEnv, screenshot, step, summary, watchPage,
} from './lib.mjs';

const base = requireEnv('PHAROS_BASE_URL').replace(/\/+$/, '');
const email = requireEnv('PHAROS_SCHOOL_EMAIL');
const password = requireEnv('PHAROS_SCHOOL_PASSWORD');

const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 320, height: 640 };

async function looksRight(page, name) {
  await checkAxe(page, name);
  await page.setViewportSize(DESKTOP);
  await screenshot(page, 'school', `${name}-1280`);
  await page.setViewportSize(MOBILE);
  await screenshot(page, 'school', `${name}-320`);
  await checkAxe(page, `${name} at 320 px`);
  await page.setViewportSize(DESKTOP);
}

/** Submits the form of `button` and waits for the page its redirect leads to. */
async function submit(page, button, flag) {
  await Promise.all([
    page.waitForURL((url) => url.searchParams.get('succes') === flag),
    page.getByRole('button', { name: button }).click(),
  ]);
  const alert = await page.locator('.fr-alert--success').innerText();
  expect(alert.length > 0, `no success alert after « ${button} »`);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
  const page = await context.newPage();
  const watch = watchPage(page);

  const opened = await step('the school signs in and opens « pHARe »', async () => {
    await page.goto(`${base}/connexion?suite=/`);
    await page.locator('[name="email"]').fill(email);
    await page.locator('[name="password"]').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/'),
      page.getByRole('button', { name: 'Se connecter' }).click(),
    ]);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/phare'),
      page.getByRole('link', { name: 'pHARe', exact: true }).click(),
    ]);
    expect((await page.locator('h1').innerText()) === 'Programme pHARe', 'wrong h1');
    const empty = await page.locator('main').innerText();
    expect(empty.includes('Aucun déploiement pHARe pour 2026-2027'), 'no empty state');
    await looksRight(page, 'phare-vide');
    watch.assertClean('phare, empty');
  });

  const started = opened && await step('the school starts the deployment of the year', async () => {
    await submit(page, 'Démarrer le déploiement pHARe de l\'année', 'demarre');
    const steps = await page.locator('#etapes').innerText();
    expect(steps.includes('Charte d\'engagement en vigueur') && steps.toLowerCase().includes('à faire'), `steps: "${steps}"`);
    expect((await page.locator('#formes').innerText()) === '0 sur 5', 'progress not at 0 on 5');
    await looksRight(page, 'phare');
    watch.assertClean('phare, started');
  });

  if (started) {
    await step('the school signs the charter', async () => {
      await page.locator('#charte-signed-on').fill('2026-09-20');
      await submit(page, 'Enregistrer la signature', 'charte');
      const steps = await page.locator('#etapes').innerText();
      expect(steps.includes('Signée le 20/09/2026'), `steps: "${steps}"`);
      watch.assertClean('charter');
    });

    await step('the school adds a trained member to its resource team', async () => {
      await page.locator('#equipe-display-name').fill('Camille Martin');
      await page.locator('#equipe-email').fill('camille.martin@ac-toulouse.fr');
      await page.locator('#equipe-function').selectOption('cpe');
      await page.locator('label[for="equipe-trained"]').click();
      await submit(page, 'Ajouter le membre', 'equipe');
      expect((await page.locator('#formes').innerText()) === '1 sur 5', 'progress not at 1 on 5');
      expect((await page.locator('progress').getAttribute('value')) === '1', 'bar not at 1');
      const team = await page.locator('#equipe').innerText();
      expect(team.includes('Camille Martin') && team.includes('CPE') && team.includes('Oui'), `team: "${team}"`);
      await looksRight(page, 'phare-equipe');
      watch.assertClean('team member');
    });
  }

  const cohorts = opened && await step('the school opens « Cohortes »', async () => {
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/cohortes'),
      page.getByRole('link', { name: 'Cohortes', exact: true }).click(),
    ]);
    const main = await page.locator('main').innerText();
    expect(main.includes('Aucune cohorte pour 2026-2027'), 'no empty state');
    expect(main.includes('Aucun nom d\'élève'), 'no privacy line');
    const kinds = await page.locator('#creer-kind option').allTextContents();
    expect(kinds.length === 2 && !kinds.some((k) => k.includes('lycée')), `kinds: ${kinds}`);
    await looksRight(page, 'cohortes-vide');
    watch.assertClean('cohorts, empty');
  });

  if (cohorts) {
    await step('the school creates a collège cohort with its counts', async () => {
      await page.locator('#creer-kind').selectOption('eleves_college');
      await page.locator('#creer-display-name').fill('Dominique Bernard');
      await page.locator('#creer-email').fill('dominique.bernard@ac-toulouse.fr');
      await submit(page, 'Créer la cohorte', 'creee');
      await page.locator('input[name="counts.6e"]').fill('3');
      await page.locator('input[name="counts.5e"]').fill('4');
      await submit(page, 'Enregistrer les effectifs', 'effectifs');
      const cohort = await page.locator('#cohorte-eleves_college').innerText();
      expect(cohort.includes('7 ambassadeurs') && cohort.includes('Moins de 10 ambassadeurs'), `cohort: "${cohort}"`);
      expect(!cohort.includes('Dominique Bernard'), 'a name is shown');
      await looksRight(page, 'cohortes');
      watch.assertClean('cohort created');
    });
  }
} finally {
  await browser.close();
  summary();
}
