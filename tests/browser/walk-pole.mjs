// The pole manager's own pages in a real browser: the orientation directory and the
// printable sheet of a department (in print media, one A4 page), the reminder ledger,
// the accounts (one created through the form) and the audit log. axe at 1280 and 320 px
// on each; no console error, exception or HTTP error but the expected 422.
//
// Driven by the Rust test `tests/browser_pole.rs`, which starts Pharos and seeds it:
//   PHAROS_BASE_URL, PHAROS_MANAGER_EMAIL, PHAROS_MANAGER_PASSWORD: the pole manager;
//   PHAROS_NEW_EMAIL: the address of the account the manager creates.
import {
  checkAxe, expect, launch, requireEnv, screenshot, step, summary, watchPage,
} from './lib.mjs';

const base = requireEnv('PHAROS_BASE_URL').replace(/\/+$/, '');
const email = requireEnv('PHAROS_MANAGER_EMAIL');
const password = requireEnv('PHAROS_MANAGER_PASSWORD');
const newEmail = requireEnv('PHAROS_NEW_EMAIL');

const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 320, height: 640 };

async function looksRight(page, name) {
  await checkAxe(page, name);
  await page.setViewportSize(DESKTOP);
  await screenshot(page, 'manager', `${name}-1280`);
  await page.setViewportSize(MOBILE);
  await screenshot(page, 'manager', `${name}-320`);
  await checkAxe(page, `${name} at 320 px`);
  await page.setViewportSize(DESKTOP);
}

async function h1Of(page) {
  return page.locator('h1').first().innerText();
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
  const page = await context.newPage();
  const watch = watchPage(page);

  const signedIn = await step('the manager signs in', async () => {
    await page.goto(`${base}/connexion?suite=/annuaire`);
    await page.locator('[name="email"]').fill(email);
    await page.locator('[name="password"]').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/annuaire'),
      page.getByRole('button', { name: 'Se connecter' }).click(),
    ]);
    watch.assertClean('sign-in');
  });

  if (signedIn) {
    await step('the directory lists the partners with numbers to call', async () => {
      const h1 = await h1Of(page);
      expect(h1.includes('Annuaire'), `h1 is "${h1}"`);
      expect(await page.locator('a[href="tel:3018"]').count() >= 1, 'no tel: link to 3018');
      await page.getByText('Maison des adolescents de Haute-Garonne').first().waitFor();
      expect(await page.getByText('À revérifier').count() >= 1, 'no « À revérifier » badge');
      await looksRight(page, 'annuaire');
      await page.locator('#type').selectOption('local_cell');
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get('type') === 'local_cell'),
        page.getByRole('button', { name: 'Rechercher' }).click(),
      ]);
      expect(await page.getByText('Cellule d\'écoute de Muret').count() >= 1, 'the cell is not listed');
      expect(await page.getByText('Maison des adolescents de Haute-Garonne').count() === 0, 'the filter let the MDA through');
      watch.assertClean('directory');
    });

    await step('the printable sheet of Haute-Garonne prints on one A4 page', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/annuaire/fiche/31'),
        page.getByRole('link', { name: 'Fiche 31 – Haute-Garonne' }).click(),
      ]);
      const h1 = await h1Of(page);
      expect(h1.includes('à qui parler'), `h1 is "${h1}"`);
      await looksRight(page, 'annuaire-fiche');
      await page.emulateMedia({ media: 'print' });
      expect(!(await page.locator('header.fr-header').isVisible()), 'the site header is printed');
      expect(!(await page.locator('footer.fr-footer').isVisible()), 'the site footer is printed');
      expect(await page.locator('.pharos-fiche__number', { hasText: '3018' }).isVisible(), '3018 not printed');
      await screenshot(page, 'manager', 'annuaire-fiche-impression');
      const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
      const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
      expect(pages === 1, `the sheet prints on ${pages} pages`);
      await page.emulateMedia({ media: 'screen' });
      watch.assertClean('sheet');
    });

    await step('the reminder ledger says why each reminder went', async () => {
      await page.goto(`${base}/rappels`);
      const h1 = await h1Of(page);
      expect(h1 === 'Rappels', `h1 is "${h1}"`);
      await page.locator('tbody tr').first().waitFor();
      const rows = await page.locator('tbody tr').count();
      expect(rows >= 2, `${rows} reminders listed`);
      const text = await page.locator('tbody').innerText();
      expect(text.includes('Établissement 0310001H'), 'the collège of Haute-Garonne is not listed');
      expect(await page.getByRole('link', { name: 'Télécharger le registre (XLSX)' }).count() === 1, 'no export');
      await looksRight(page, 'rappels');
      watch.assertClean('ledger');
    });

    await step('the manager creates an account, after a refused address', async () => {
      await page.goto(`${base}/comptes`);
      expect(await h1Of(page) === 'Comptes', 'not the accounts page');
      await page.locator('tbody tr').first().waitFor();
      await looksRight(page, 'comptes');
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/comptes/nouveau'),
        page.getByRole('link', { name: 'Créer un compte' }).click(),
      ]);
      await looksRight(page, 'comptes-nouveau');
      await page.locator('#email').fill('pas-une-adresse');
      await page.locator('#display_name').fill('Claire Martin');
      await page.locator('#role').selectOption('department_referent');
      await page.locator('#scope').fill('31');
      await page.getByRole('button', { name: 'Créer le compte' }).click();
      await page.locator('#email-erreur').waitFor();
      await looksRight(page, 'comptes-nouveau-erreur');
      // The refusal is the page's 422, expected here; anything else is a problem.
      const unexpected = watch.problems.splice(0).filter((p) => !p.includes('422'));
      expect(unexpected.length === 0, `problems: ${unexpected.join('; ')}`);
      await page.locator('#email').fill(newEmail);
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/comptes' && url.searchParams.get('succes') === 'cree'),
        page.getByRole('button', { name: 'Créer le compte' }).click(),
      ]);
      const alert = await page.locator('.fr-alert--success').innerText();
      expect(alert.includes('Compte créé'), `alert reads "${alert}"`);
      await looksRight(page, 'comptes-cree');
      watch.assertClean('account created');
    });

    await step('the audit log shows the account just created, page after page', async () => {
      await page.goto(`${base}/journal?categorie=user`);
      expect(await h1Of(page) === 'Journal des événements', 'not the log');
      await page.locator('tbody tr').first().waitFor();
      const first = await page.locator('tbody tr').first().innerText();
      expect(first.includes('Pôle académique'), `the newest account event reads "${first}"`);
      await looksRight(page, 'journal');
      const next = page.getByRole('link', { name: 'Page suivante' });
      if (await next.count() > 0) {
        await Promise.all([
          page.waitForURL((url) => url.searchParams.has('apres')),
          next.click(),
        ]);
        await page.locator('tbody tr').first().waitFor();
      }
      watch.assertClean('log');
    });
  }
} finally {
  await browser.close();
  summary();
}
