// The department referent's trainings walk: signs in, opens « Formations », a session of
// her department (two confirmed, one waiting), ticks who is present at the first slot and
// saves it, then opens the sign-in sheet and looks at it as printed (print media: no
// header, menu, footer nor buttons); last, on the next session (registrations open), she
// registers a person through the form « Inscrire une personne » (first without an
// address: the error next to its field) and sees them listed, then opens the withdrawal's
// confirmation page and keeps the registration; last, on an earlier session whose
// attendance is locked, she follows « Corriger » and records a correction with its
// reason. axe and screenshots (role `referent`, names `formations-…`) at 1280 and 320 px.
//
// Driven by the Rust test `tests/browser_trainings.rs`, which starts Pharos, seeds it and
// sets its clock within the session's first slot:
//   PHAROS_BASE_URL, PHAROS_REFERENT_EMAIL, PHAROS_REFERENT_PASSWORD: the referent of 31;
//   PHAROS_SESSION_ID: the session; PHAROS_NEXT_SESSION_ID: a later one, open, empty;
//   PHAROS_LOCKED_SESSION_ID: an earlier one, its attendance locked, Noa Petit registered.
import {
  checkAxe, expect, launch, requireEnv, screenshot, step, summary, watchPage,
} from './lib.mjs';

const base = requireEnv('PHAROS_BASE_URL').replace(/\/+$/, '');
const email = requireEnv('PHAROS_REFERENT_EMAIL');
const password = requireEnv('PHAROS_REFERENT_PASSWORD');
const session = requireEnv('PHAROS_SESSION_ID');
const nextSession = requireEnv('PHAROS_NEXT_SESSION_ID');
const lockedSession = requireEnv('PHAROS_LOCKED_SESSION_ID');

const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 320, height: 640 };

async function looksRight(page, name) {
  await checkAxe(page, name);
  await page.setViewportSize(DESKTOP);
  await screenshot(page, 'referent', `formations-${name}-1280`);
  await page.setViewportSize(MOBILE);
  await screenshot(page, 'referent', `formations-${name}-320`);
  // Wide tables scroll in their own region: the page itself never does.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width <= MOBILE.width, `${name} is ${width} px wide at 320 px`);
  await checkAxe(page, `${name} at 320 px`);
  await page.setViewportSize(DESKTOP);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
  const page = await context.newPage();
  const watch = watchPage(page);
  const sessionLink = page.locator(`a[href="/formations/sessions/${session}"]`);

  const listed = await step('the referent signs in and opens « Formations »', async () => {
    await page.goto(`${base}/connexion`);
    await page.locator('[name="email"]').fill(email);
    await page.locator('[name="password"]').fill(password);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/tableau-de-bord'),
      page.getByRole('button', { name: 'Se connecter' }).click(),
    ]);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/formations'),
      page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Formations' }).click(),
    ]);
    const h1 = await page.locator('h1').innerText();
    expect(h1 === 'Formations', `h1 is "${h1}"`);
    // The read model follows the log: the session may take a moment to be listed.
    for (let i = 0; i < 50 && await sessionLink.count() === 0; i += 1) {
      await page.waitForTimeout(200);
      await page.reload();
    }
    expect(await sessionLink.count() === 1, 'the session is not listed');
    const row = await page.locator('tbody tr', { has: sessionLink }).innerText();
    expect(row.includes('1 en liste d\'attente'), `the session row reads "${row}"`);
    await looksRight(page, 'liste');
    watch.assertClean('trainings list');
  });

  if (listed) {
    await step('she opens the session: registrants and waitlist', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === `/formations/sessions/${session}`),
        sessionLink.click(),
      ]);
      const state = (await page.locator('#etat-session').textContent()).trim();
      expect(state === 'Inscriptions ouvertes', `state "${state}"`);
      const waiting = await page.getByRole('region', { name: 'Liste d\'attente' }).innerText();
      expect(waiting.includes('Lou Bernard'), `waitlist "${waiting}"`);
      const confirmed = await page.getByRole('region', { name: 'Inscriptions confirmées' }).innerText();
      expect(confirmed.includes('Camille Martin') && confirmed.includes('Sacha Durand'), `confirmed "${confirmed}"`);
      await looksRight(page, 'session');
      watch.assertClean('session page');
    });

    await step('she records the first slot on the attendance sheet', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === `/formations/sessions/${session}/presences`),
        page.getByRole('link', { name: 'Feuille de présence' }).click(),
      ]);
      expect(await page.getByRole('button', { name: 'Enregistrer le créneau 2' }).count() === 0,
        'the second slot has not begun');
      await page.getByLabel('Présent : Camille Martin, créneau 1').check({ force: true });
      await looksRight(page, 'presences');
      await Promise.all([
        page.waitForURL((url) => url.searchParams.get('succes') === '0'),
        page.getByRole('button', { name: 'Enregistrer le créneau 1' }).click(),
      ]);
      const alert = await page.locator('.fr-alert--success').innerText();
      expect(alert.includes('Présences du créneau 1 enregistrées.'), `alert "${alert}"`);
      expect(await page.getByLabel('Présent : Camille Martin, créneau 1').isChecked(), 'Camille is not ticked any more');
      expect(!(await page.getByLabel('Présent : Sacha Durand, créneau 1').isChecked()), 'Sacha is ticked');
      await looksRight(page, 'presences-enregistrees');
      watch.assertClean('attendance sheet');
    });

    await step('she opens the sign-in sheet and sees it as printed', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === `/formations/sessions/${session}/emargement`),
        page.getByRole('link', { name: 'Feuille d\'émargement' }).click(),
      ]);
      const notice = await page.locator('.fr-notice').innerText();
      expect(notice.includes('Utilisez la commande Imprimer de votre navigateur'), `notice "${notice}"`);
      const rows = await page.locator('.pharos-sign-in tbody tr').count();
      expect(rows === 2, `${rows} rows: the two confirmed registrants sign`);
      await looksRight(page, 'emargement');
      await page.emulateMedia({ media: 'print' });
      expect(!(await page.locator('header.fr-header').isVisible()), 'the header is printed');
      expect(!(await page.locator('footer.fr-footer').isVisible()), 'the footer is printed');
      expect(!(await page.locator('.fr-notice').isVisible()), 'the print notice is printed');
      expect(await page.locator('.pharos-sign-in table').isVisible(), 'the table is not printed');
      await screenshot(page, 'referent', 'formations-emargement-impression');
      await page.emulateMedia({ media: 'screen' });
      watch.assertClean('sign-in sheet');
    });
  }

  await step('she registers a person to the next session through its form', async () => {
    const path = `/formations/sessions/${nextSession}`;
    await page.goto(`${base}${path}`);
    const submit = page.getByRole('button', { name: 'Inscrire la personne' });
    expect(await submit.count() === 1, 'no registration form');
    // Without an address: refused, the error next to its field and tied to it.
    await page.locator('#inscription-nom').fill('Alex Petit');
    await page.locator('#inscription-fonction').selectOption('cpe');
    await Promise.all([
      page.waitForURL((url) => url.pathname === `${path}/inscriptions`),
      submit.click(),
    ]);
    const described = await page.locator('#inscription-courriel').getAttribute('aria-describedby');
    expect(described === 'inscription-courriel-erreur', `the address is described by "${described}"`);
    const error = await page.locator('#inscription-courriel-erreur').innerText();
    expect(error.includes('Indiquez l\'adresse électronique'), `error "${error}"`);
    const kept = await page.locator('#inscription-nom').inputValue();
    expect(kept === 'Alex Petit', `the name became "${kept}"`);
    await looksRight(page, 'inscription-refusee');
    // The refusal is the page's 422, expected here; anything else is a problem.
    const unexpected = watch.problems.splice(0).filter((p) => !(p.includes('422') && p.includes('/inscriptions')));
    expect(unexpected.length === 0, `problems: ${unexpected.join('; ')}`);

    await page.locator('#inscription-courriel').fill('alex.petit@ac-toulouse.fr');
    await page.locator('#inscription-uai').fill('0310001H');
    await page.locator('#inscription-mode-volunteer').check({ force: true });
    await Promise.all([
      page.waitForURL((url) => url.pathname === path && url.searchParams.get('succes') === 'inscrite'),
      page.getByRole('button', { name: 'Inscrire la personne' }).click(),
    ]);
    const alert = await page.locator('.fr-alert--success').innerText();
    expect(alert.includes('Inscription enregistrée pour Alex Petit : la personne est inscrite'), `alert "${alert}"`);
    const confirmed = await page.getByRole('region', { name: 'Inscriptions confirmées' }).innerText();
    expect(confirmed.includes('Alex Petit') && confirmed.includes('Volontariat'), `confirmed "${confirmed}"`);
    expect(await page.getByRole('link', { name: 'Retirer : Alex Petit' }).count() === 1,
      'no « Retirer » for Alex Petit');
    await looksRight(page, 'inscription');
    watch.assertClean('registration');
  });

  await step('she opens the withdrawal of that registration, then keeps it', async () => {
    const path = `/formations/sessions/${nextSession}`;
    await Promise.all([
      page.waitForURL((url) => url.pathname.startsWith(`${path}/inscriptions/`) && url.pathname.endsWith('/retrait')),
      page.getByRole('link', { name: 'Retirer : Alex Petit' }).click(),
    ]);
    const h1 = await page.locator('h1').innerText();
    expect(h1 === 'Retirer une inscription : Alex Petit', `h1 is "${h1}"`);
    const callout = await page.locator('.fr-callout').innerText();
    expect(callout.includes('Sa place est libérée'), `callout "${callout}"`);
    expect(await page.getByRole('button', { name: 'Je confirme le retrait' }).count() === 1, 'no confirmation button');
    await looksRight(page, 'retrait');
    await Promise.all([
      page.waitForURL((url) => url.pathname === path),
      page.getByRole('link', { name: 'Garder l\'inscription' }).click(),
    ]);
    const confirmed = await page.getByRole('region', { name: 'Inscriptions confirmées' }).innerText();
    expect(confirmed.includes('Alex Petit'), `confirmed "${confirmed}"`);
    watch.assertClean('withdrawal page');
  });

  await step('she corrects an attendance of a locked session, with its reason', async () => {
    const path = `/formations/sessions/${lockedSession}/presences`;
    await page.goto(`${base}${path}`);
    const main = await page.locator('main').innerText();
    expect(main.includes('Les présences sont verrouillées'), 'the sheet does not say it is locked');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('creneau') === '0'),
      page.getByRole('link', { name: 'Corriger la présence de Noa Petit, créneau 1' }).click(),
    ]);
    const chosen = await page.locator('#correction-inscription option:checked').innerText();
    expect(chosen === 'Noa Petit', `the link chose "${chosen}"`);
    await page.locator('#correction-statut').selectOption('present');
    await page.locator('#correction-motif').fill('Feuille d\'émargement retrouvée');
    await looksRight(page, 'correction');
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get('corrigee') === '1'),
      page.getByRole('button', { name: 'Enregistrer la correction' }).click(),
    ]);
    const alert = await page.locator('.fr-alert--success').innerText();
    expect(alert.includes('Correction enregistrée pour Noa Petit, créneau 1'), `alert "${alert}"`);
    await looksRight(page, 'correction-enregistree');
    watch.assertClean('attendance correction');
  });
} finally {
  await browser.close();
  summary();
}
