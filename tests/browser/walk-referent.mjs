// The department referent's walk: signs in, opens « Actions », returns one submitted
// action to its school (first without a reason, which the page refuses next to the
// field), validates another then publishes it, and sees each decision's success alert and
// new state; then « Retards » (the école without any action, with its account to write
// to) and « Labels » (the collège's application waiting for a decision). axe and
// screenshots (role `referent`) on every page at 1280 and 320 px.
//
// Driven by the Rust test `tests/browser_referent.rs`, which starts Pharos and seeds it:
//   PHAROS_BASE_URL, PHAROS_REFERENT_EMAIL, PHAROS_REFERENT_PASSWORD: the referent of 31;
//   PHAROS_RETURN_ID, PHAROS_VALIDATE_ID: two submitted actions of her department;
//   PHAROS_LAGGING_UAI, PHAROS_LAGGING_EMAIL: an école of 31 without action, its account;
//   PHAROS_LABEL_ID: a submitted label application of the collège of 31.
import {
  checkAxe, expect, launch, requireEnv, screenshot, step, summary, watchPage,
} from './lib.mjs';

const base = requireEnv('PHAROS_BASE_URL').replace(/\/+$/, '');
const email = requireEnv('PHAROS_REFERENT_EMAIL');
const password = requireEnv('PHAROS_REFERENT_PASSWORD');
const toReturn = requireEnv('PHAROS_RETURN_ID');
const toValidate = requireEnv('PHAROS_VALIDATE_ID');
const laggingUai = requireEnv('PHAROS_LAGGING_UAI');
const laggingEmail = requireEnv('PHAROS_LAGGING_EMAIL');
const labelId = requireEnv('PHAROS_LABEL_ID');

const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 320, height: 640 };

async function looksRight(page, name) {
  await checkAxe(page, name);
  await page.setViewportSize(DESKTOP);
  await screenshot(page, 'referent', `${name}-1280`);
  await page.setViewportSize(MOBILE);
  await screenshot(page, 'referent', `${name}-320`);
  await checkAxe(page, `${name} at 320 px`);
  await page.setViewportSize(DESKTOP);
}

/** The state badge of the action page (its text, not the upper case the DSFR shows). */
const state = async (page) => (await page.locator('#etat-action').textContent()).trim();

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
  const page = await context.newPage();
  const watch = watchPage(page);

  const signedIn = await step('the referent signs in and opens « Actions »', async () => {
    await page.goto(`${base}/connexion`);
    await page.locator('[name="email"]').fill(email);
    await page.locator('[name="password"]').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/tableau-de-bord'),
      page.getByRole('button', { name: 'Se connecter' }).click(),
    ]);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/actions'),
      page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Actions' }).click(),
    ]);
    const h1 = await page.locator('h1').innerText();
    expect(h1 === 'Actions de sensibilisation', `h1 is "${h1}"`);
    // The actions waiting for her: both submitted ones (the projector may lag a little).
    for (let i = 0; i < 50 && await page.locator(`a[href="/actions/${toValidate}"]`).count() === 0; i += 1) {
      await page.waitForTimeout(200);
      await page.reload();
    }
    expect(await page.locator(`a[href="/actions/${toReturn}"]`).count() === 1, 'the action to return is not listed');
    expect(await page.locator(`a[href="/actions/${toValidate}"]`).count() === 1, 'the action to validate is not listed');
    const selected = await page.locator('#etat option:checked').innerText();
    expect(selected === 'Transmise, à valider', `the state filter reads "${selected}"`);
    await looksRight(page, 'actions');
    watch.assertClean('actions list');
  });

  if (signedIn) {
    await step('she returns an action: first without a reason, then with one', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === `/actions/${toReturn}`),
        page.locator(`a[href="/actions/${toReturn}"]`).click(),
      ]);
      expect((await state(page)) === 'Transmise, à valider', `state "${await state(page)}"`);
      await looksRight(page, 'action');
      watch.assertClean('action page');

      await Promise.all([
        page.waitForURL((url) => url.pathname === `/actions/${toReturn}/renvoyer`),
        page.getByRole('button', { name: 'Renvoyer à l\'établissement' }).click(),
      ]);
      const error = await page.locator('#reason-erreur').innerText();
      expect(error.includes('Indiquez ce que l\'établissement doit corriger'), `field error "${error}"`);
      const described = await page.locator('#reason').getAttribute('aria-describedby');
      expect(described === 'reason-erreur', 'the error is not tied to the field');
      await checkAxe(page, 'return refused');
      // The refusal is the page's 422, expected here; anything else is a problem.
      const unexpected = watch.problems.splice(0).filter((p) => !(p.includes('422') && p.includes('/renvoyer')));
      expect(unexpected.length === 0, `problems: ${unexpected.join('; ')}`);

      await page.locator('#reason').fill('Précisez les niveaux concernés et le nombre d\'élèves.');
      await Promise.all([
        page.waitForURL((url) => url.pathname === `/actions/${toReturn}` && url.searchParams.get('succes') === 'renvoyee'),
        page.getByRole('button', { name: 'Renvoyer à l\'établissement' }).click(),
      ]);
      const alert = await page.locator('.fr-alert--success').innerText();
      expect(alert.includes('Action renvoyée à l\'établissement.'), `alert "${alert}"`);
      expect((await state(page)) === 'Renvoyée à l\'établissement', `state "${await state(page)}"`);
      const reason = await page.locator('.fr-callout').innerText();
      expect(reason.includes('Précisez les niveaux concernés'), `reason "${reason}"`);
      expect(await page.getByRole('button', { name: 'Valider' }).count() === 0, 'still offers to validate');
      watch.assertClean('returned');
    });

    await step('she validates the other one from the list', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/actions'),
        page.getByRole('link', { name: 'Revenir à la liste des actions' }).click(),
      ]);
      await Promise.all([
        page.waitForURL((url) => url.pathname === `/actions/${toValidate}`),
        page.locator(`a[href="/actions/${toValidate}"]`).click(),
      ]);
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get('succes') === 'validee'),
        page.getByRole('button', { name: 'Valider' }).click(),
      ]);
      const alert = await page.locator('.fr-alert--success').innerText();
      expect(alert.includes('Action validée.'), `alert "${alert}"`);
      expect((await state(page)) === 'Validée', `state "${await state(page)}"`);
      await looksRight(page, 'action-validee');
      watch.assertClean('validated');
    });

    await step('she publishes the validated action', async () => {
      const hint = await page.locator('#publier-aide').innerText();
      expect(hint.includes('La publication est définitive'), `hint "${hint}"`);
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get('succes') === 'publiee'),
        page.getByRole('button', { name: 'Publier l\'action' }).click(),
      ]);
      const alert = await page.locator('.fr-alert--success').innerText();
      expect(alert.includes('Action publiée.'), `alert "${alert}"`);
      expect((await state(page)) === 'Publiée', `state "${await state(page)}"`);
      expect(await page.getByRole('button', { name: 'Publier l\'action' }).count() === 0, 'still offers to publish');
      await looksRight(page, 'action-publiee');
      watch.assertClean('published');
    });

    await step('nothing is left waiting for her', async () => {
      await page.goto(`${base}/actions`);
      for (let i = 0; i < 50 && await page.locator('.fr-callout').count() === 0; i += 1) {
        await page.waitForTimeout(200);
        await page.reload();
      }
      const empty = await page.locator('.fr-callout').innerText();
      expect(empty.includes('Aucune action transmise pour l\'instant'), `empty state "${empty}"`);
      await looksRight(page, 'actions-vide');
      watch.assertClean('empty list');
    });

    await step('« Retards » lists the école without any action, with its account', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/retards'),
        page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Retards' }).click(),
      ]);
      const h1 = await page.locator('h1').innerText();
      expect(h1 === 'Établissements en retard', `h1 is "${h1}"`);
      // The national day's table (the projector may lag a little behind the returned action).
      const table = page.getByRole('region', { name: 'Établissements sans action de la Journée nationale transmise' });
      const returnedShown = async () => (await table.count()) > 0
        && (await table.innerText()).includes('pas encore transmise au référent');
      for (let i = 0; i < 50 && !(await returnedShown()); i += 1) {
        await page.waitForTimeout(200);
        await page.reload();
      }
      const rows = await table.innerText();
      expect(rows.includes(`École ${laggingUai} (${laggingUai})`), `national day rows: "${rows}"`);
      expect(rows.includes('Aucune action déclarée'), `national day rows: "${rows}"`);
      expect(rows.includes('Action déclarée, pas encore transmise au référent'), `the returned action's school is missing: "${rows}"`);
      expect(await table.locator(`a[href="mailto:${laggingEmail}"]`).count() === 1, `no contact for ${laggingUai}`);
      const teams = await page.getByRole('region', { name: 'Collèges et lycées sans équipe ressource complète' }).innerText();
      expect(teams.includes('Aucun déploiement pHARe cette année'), `teams: "${teams}"`);
      await looksRight(page, 'retards');
      watch.assertClean('lagging schools');
    });

    await step('« Labels » lists the collège\'s application waiting for a decision', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/labels'),
        page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Labels' }).click(),
      ]);
      const h1 = await page.locator('h1').innerText();
      expect(h1 === 'Labels pHARe', `h1 is "${h1}"`);
      for (let i = 0; i < 50 && await page.locator(`a[href="/labels/${labelId}"]`).count() === 0; i += 1) {
        await page.waitForTimeout(200);
        await page.reload();
      }
      const row = await page.locator('tbody tr').filter({ has: page.locator(`a[href="/labels/${labelId}"]`) }).innerText();
      expect(row.includes('Établissement 0310001H'), `row: "${row}"`);
      expect(row.includes('Niveau 1'), `row: "${row}"`);
      expect(row.toLowerCase().includes('déposée'), `row: "${row}"`);
      await looksRight(page, 'labels');
      watch.assertClean('labels');
    });
  }
} finally {
  await browser.close();
  summary();
}
