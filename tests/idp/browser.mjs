// A real browser for the OAuth tests: headless Chromium, driven by
// playwright-core, logs in at tests/idp/idp.mjs (`--interactions forms`)
// the way a user would.
//
//   node tests/idp/browser.mjs URL
//
// authhost runs it as the browser (BROWSER="node tests/idp/browser.mjs"
// appends the authorization URL). It opens URL, fills in the IdP's own
// login page (login $AUTHHOST_TEST_LOGIN, default `carol`, any password),
// confirms its consent page, follows the redirect to authhost's loopback
// listener, and writes the page it ends on (HTML) to $AUTHHOST_TEST_PAGE
// (the redirect URL to $AUTHHOST_TEST_REDIRECT when set). On any failure it
// writes `browser.mjs: ERROR ...` with the page's text there instead: the
// browser's own output goes nowhere.
//
// Chromium is Debian's (/usr/bin/chromium, or $AUTHHOST_CHROMIUM);
// playwright-core downloads no browser.

import { writeFileSync } from 'node:fs';

import { chromium } from 'playwright-core';

const url = process.argv.at(-1);
const pageFile = process.env.AUTHHOST_TEST_PAGE;
const redirectFile = process.env.AUTHHOST_TEST_REDIRECT;
const login = process.env.AUTHHOST_TEST_LOGIN || 'carol';
// Every wait is bounded: a test must fail, never hang.
const STEP_TIMEOUT_MS = 30_000;

function record(text) {
  if (pageFile) writeFileSync(pageFile, text);
  else process.stdout.write(text);
}

const browser = await chromium.launch({
  executablePath: process.env.AUTHHOST_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  timeout: STEP_TIMEOUT_MS,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
let page;
try {
  page = await browser.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const idp = new URL(url).origin;
  await page.goto(url);
  // Login, then consent, then the redirect away from the IdP.
  for (let step = 0; new URL(page.url()).origin === idp; step += 1) {
    if (step > 5) throw new Error('still at the IdP after 5 forms');
    const before = page.url();
    if (await page.locator('input[name="login"]').count() > 0) {
      await page.fill('input[name="login"]', login);
      await page.fill('input[name="password"]', 'any password');
    } else if (await page.locator('input[name="prompt"][value="consent"]').count() === 0) {
      throw new Error(`neither a login nor a consent page at ${before}`);
    }
    await Promise.all([
      page.waitForURL((next) => next.href !== before, { waitUntil: 'load' }),
      page.click('button[type="submit"]'),
    ]);
  }
  if (redirectFile) writeFileSync(redirectFile, page.url());
  record(await page.content());
} catch (error) {
  let text = '';
  try {
    text = page ? `\n${page.url()}\n${await page.innerText('body')}` : '';
  } catch {
    // The page is gone; the error says enough.
  }
  record(`browser.mjs: ERROR ${error.message}${text}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
