// The department referent's walk: signs in, opens « Actions », returns one submitted
// action to its school (first without a reason, which the page refuses next to the
// field), validates another, and sees each decision's success alert and new state.
// axe and screenshots (role `referent`) on the list and the detail at 1280 and 320 px.
//
// Driven by the Rust test `tests/browser_referent.rs`, which starts Pharos and seeds it:
//   PHAROS_BASE_URL, PHAROS_REFERENT_EMAIL, PHAROS_REFERENT_PASSWORD: the referent of 31;
//   PHAROS_RETURN_ID, PHAROS_VALIDATE_ID: two submitted actions of her department.
import {
  checkAxe, expect, launch, requireEnv, screenshot, step, summary, watchPage,
} from './lib.mjs';

const base = requireEnv('PHAROS_BASE_URL').replace(/\/+$/, '');
const email = requireEnv('PHAROS_REFERENT_EMAIL');
const password = requireEnv('PHAROS_REFERENT_PASSWORD');
const toReturn = requireEnv('PHAROS_RETURN_ID');
const toValidate = requireEnv('PHAROS_VALIDATE_ID');

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
  }
} finally {
  await browser.close();
  summary();
}
