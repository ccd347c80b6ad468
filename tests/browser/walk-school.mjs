// The school's walk: signs in, opens « Concours », creates a participation (once with a
// field missing), uploads a file without JavaScript (the form posted to the pages), then
// another with it and watches the progress bar reach the end, attests the rights,
// submits, and finds it « déposée » in the list; then « Actions » (/mes-actions) lists its
// action of the year, and « Formations » opens the planning. axe and screenshots at 1280 and 320 px on every page; any console
// error, exception or unexpected HTTP error fails.
//
// Driven by `tests/browser_school.rs`, which serves Pharos (clock inside the 2026-2027
// submission window), creates the edition, the school's account and one action of the
// year, submitted:
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

/** A PNG of `size` bytes: its signature, then padding of `fill`. */
function png(size, fill) {
  const head = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000049454e44ae426082',
    'hex',
  );
  return Buffer.concat([head, Buffer.alloc(size - head.length, fill)]);
}

async function signIn(page) {
  await page.goto(`${base}/connexion?suite=/`);
  await page.locator('[name="email"]').fill(email);
  await page.locator('[name="password"]').fill(password);
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/'),
    page.getByRole('button', { name: 'Se connecter' }).click(),
  ]);
}

/** A PNG of about 1.5 MB: its signature is what the API recognises; the rest pads it so
 *  that the upload reports its progress several times. */
function poster() {
  const head = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000049454e44ae426082',
    'hex',
  );
  return Buffer.concat([head, Buffer.alloc(1_500_000, 7)]);
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR' });
  const page = await context.newPage();
  const watch = watchPage(page);

  const signedIn = await step('the school signs in and opens « Concours »', async () => {
    await signIn(page);
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/concours'),
      page.getByRole('link', { name: 'Concours', exact: true }).click(),
    ]);
    const h1 = await page.locator('h1').innerText();
    expect(h1.includes('Concours « Non au harcèlement »'), `h1 is "${h1}"`);
    const notice = await page.locator('.fr-notice').first().innerText();
    expect(notice.includes('Date limite de dépôt : vendredi 12 février 2027 à 23 h 59 (heure de Paris), dans 73 jours'),
      `notice: "${notice}"`);
    const empty = await page.locator('main').innerText();
    expect(empty.includes('Aucune participation pour l\'instant'), 'no empty state');
    await looksRight(page, 'concours-vide');
    watch.assertClean('contest list');
  });

  if (signedIn) {
    await step('a field left empty is named next to it, and nothing is created', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname.endsWith('/participations/nouvelle')),
        page.getByRole('link', { name: 'Créer une participation' }).first().click(),
      ]);
      await looksRight(page, 'participation-nouvelle');
      await page.locator('#category').selectOption('college_affiche');
      await page.locator('#group_label').fill('5e B');
      await page.locator('label[for="niveau-5e"]').click();
      await page.locator('#pupil_count').fill('24');
      await page.locator('#adult_count').fill('2');
      await page.locator('#responsible_name').fill('Camille Martin');
      await page.locator('#responsible_email').fill('camille.martin@ac-toulouse.fr');
      await page.getByRole('button', { name: 'Créer la participation' }).click();
      await page.locator('#title-erreur').waitFor();
      const error = await page.locator('#title-erreur').innerText();
      expect(error.includes('Le titre de la production est obligatoire'), `title error: "${error}"`);
      expect(await page.locator('#niveau-5e').isChecked(), 'the level typed was lost');
      await looksRight(page, 'participation-nouvelle-erreur');
      // The refusal is the expected 422 (and Chromium's console line about it), nothing else.
      const found = watch.problems.splice(0);
      const expected = (p) => p.includes('422') && p.includes('/participations/nouvelle');
      expect(found.some((p) => p.startsWith('HTTP 422')) && found.every(expected), `problems: ${found.join('; ')}`);
    });

    const created = await step('the school creates the participation', async () => {
      await page.locator('#title').fill('Briser le silence');
      await Promise.all([
        page.waitForURL((url) => url.pathname.startsWith('/concours/participations/')),
        page.getByRole('button', { name: 'Créer la participation' }).click(),
      ]);
      expect((await page.locator('h1').innerText()) === 'Briser le silence', 'wrong h1');
      expect((await page.locator('#statut').innerText()).toLowerCase() === 'brouillon', 'not a draft');
      await looksRight(page, 'participation-brouillon');
      watch.assertClean('entry page');
    });

    if (created) {
      await step('without JavaScript, the file goes through the form and is listed', async () => {
        const entry = new URL(page.url());
        entry.search = '';
        const plain = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR', javaScriptEnabled: false });
        try {
          const nojs = await plain.newPage();
          const nojsWatch = watchPage(nojs);
          await signIn(nojs);
          await nojs.goto(entry.href);
          const form = nojs.locator('#televersement');
          expect(await form.getAttribute('enctype') === 'multipart/form-data', 'the form is not multipart');
          await nojs.locator('#fichier').setInputFiles({ name: 'affiche-sans-js.png', mimeType: 'image/png', buffer: png(20_000, 3) });
          await Promise.all([
            nojs.waitForURL((url) => url.pathname === entry.pathname && url.searchParams.has('fichier')),
            nojs.getByRole('button', { name: 'Envoyer le fichier' }).click(),
          ]);
          expect((await nojs.locator('.fr-alert--success').innerText()).includes('Fichier déposé'), 'no success alert');
          const files = await nojs.locator('#fichiers').innerText();
          expect(files.includes('PNG, 20 Ko') || files.includes('PNG, 20\u00a0Ko'), `files: "${files}"`);
          // axe runs in the page's JavaScript, off here: the same page is checked with it
          // after the next upload.
          nojsWatch.assertClean('upload without JavaScript');
        } finally {
          await plain.close();
        }
      });

      await step('the file uploads with its progress bar and is listed', async () => {
        // The bar's value, kept across the reload that follows the upload.
        await page.evaluate(() => {
          const bar = document.getElementById('envoi-progression');
          const zone = document.getElementById('envoi-zone');
          new MutationObserver(() => {
            const seen = JSON.parse(sessionStorage.getItem('pharos-progress') || '[]');
            seen.push({ value: bar.value, hidden: zone.hidden });
            sessionStorage.setItem('pharos-progress', JSON.stringify(seen));
          }).observe(bar, { attributes: true });
        });
        await page.locator('#fichier').setInputFiles({ name: 'affiche.png', mimeType: 'image/png', buffer: poster() });
        const isUpload = (url) => url.includes('/files?name=affiche.png');
        const [uploaded] = await Promise.all([
          page.waitForResponse((res) => isUpload(res.url()) && res.request().method() === 'POST'),
          page.waitForURL((url) => url.searchParams.has('fichier')),
          page.getByRole('button', { name: 'Envoyer le fichier' }).click(),
        ]);
        expect(uploaded.status() === 201 || uploaded.status() === 200, `the upload answered ${uploaded.status()}`);
        // The page leaves on the request's load event; on a busy machine Chromium may then
        // report that answered request as aborted. Only that one report is forgiven.
        const aborted = watch.problems.findIndex((p) => p.startsWith('request failed: ') && isUpload(p) && p.endsWith('(net::ERR_ABORTED)'));
        if (aborted >= 0) watch.problems.splice(aborted, 1);
        const seen = JSON.parse(await page.evaluate(() => sessionStorage.getItem('pharos-progress') || '[]'));
        expect(seen.some((s) => !s.hidden), `the bar was never shown: ${JSON.stringify(seen)}`);
        expect(seen.length > 0 && seen[seen.length - 1].value === 100, `the bar did not reach the end: ${JSON.stringify(seen)}`);
        const files = await page.locator('#fichiers').innerText();
        expect(files.includes('PNG') && files.includes('Mo'), `files: "${files}"`);
        expect(await page.locator('#envoi-zone').isHidden(), 'an empty progress bar is shown after the reload');
        expect((await page.locator('.fr-alert--success').innerText()).includes('Fichier déposé'), 'no success alert');
        await looksRight(page, 'participation-fichier');
        watch.assertClean('upload');
      });

      await step('the school attests the rights', async () => {
        for (const name of ['image_rights', 'third_party_rights', 'republic_values', 'rights_grant']) {
          await page.locator(`label[for="${name}"]`).click();
        }
        await page.locator('#attested_by').fill('Principal du collège');
        await Promise.all([
          page.waitForURL((url) => url.searchParams.has('atteste')),
          page.getByRole('button', { name: 'Enregistrer les attestations' }).click(),
        ]);
        expect(await page.locator('#rights_grant').isChecked(), 'the attestation was not kept');
        watch.assertClean('attestations');
      });

      await step('the school submits and the participation is « déposée »', async () => {
        await Promise.all([
          page.waitForURL((url) => url.searchParams.has('deposee')),
          page.getByRole('button', { name: 'Déposer la participation' }).click(),
        ]);
        const status = await page.locator('#statut').innerText();
        expect(status.toLowerCase() === 'déposée', `status "${status}"`);
        expect(await page.locator('#televersement').count() === 0, 'still an upload form');
        await looksRight(page, 'participation-deposee');
        watch.assertClean('submission');
      });

      await step('the list shows the participation « déposée »', async () => {
        await Promise.all([
          page.waitForURL((url) => url.pathname === '/concours'),
          page.getByRole('link', { name: 'Revenir aux participations' }).click(),
        ]);
        const row = await page.locator('tbody tr').first().innerText();
        expect(row.includes('Briser le silence') && row.toLowerCase().includes('déposée'), `row: "${row}"`);
        await looksRight(page, 'concours');
        watch.assertClean('contest list after submission');
      });
    }

    await step('« Actions » lists the school\'s action of the year', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/mes-actions'),
        page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Actions' }).click(),
      ]);
      const h1 = await page.locator('h1').innerText();
      expect(h1 === 'Mes actions de sensibilisation', `h1 is "${h1}"`);
      const lead = await page.locator('.fr-text--lead').innerText();
      expect(lead.includes('année scolaire 2026-2027'), `lead: "${lead}"`);
      const row = await page.locator('tbody tr').first().innerText();
      expect(row.includes('20/11/2026') && row.includes('Au cours de l\'année'), `row: "${row}"`);
      expect(row.includes('Questionnaire') && row.includes('60'), `row: "${row}"`);
      expect(row.toLowerCase().includes('transmise, à valider'), `row: "${row}"`);
      expect(await page.locator('tbody tr').count() === 1, 'one action expected');
      await looksRight(page, 'mes-actions');
      watch.assertClean('school actions');
    });

    await step('« Formations » opens the planning the school registers its staff to', async () => {
      await Promise.all([
        page.waitForURL((url) => url.pathname === '/formations'),
        page.getByRole('navigation', { name: 'Menu principal' }).getByRole('link', { name: 'Formations' }).click(),
      ]);
      const h1 = await page.locator('h1').innerText();
      expect(h1 === 'Formations', `h1 is "${h1}"`);
      await looksRight(page, 'formations');
      watch.assertClean('school trainings');
    });
  }
} finally {
  await browser.close();
  summary();
}
