// End-to-end test of the docs page: starts the real binary on an empty database, opens
// /customer/1.0.0/docs in Debian's headless chromium through playwright-core, and checks that the
// operation, its path and the Customer schema are shown, that every request the page makes goes
// to the service itself (no CDN), that the console has no errors (a breach of the page's
// Content-Security-Policy would be one), that the page sends X-Frame-Options: DENY and a strict
// policy, and that "Try it out" offers this instance first and the public gateway second. Saves a
// screenshot.
//
//   node scripts/docs-browser-test.mjs [path to customer-api binary, default bin/customer-api]
//
// Environment: CHROMIUM (default /usr/bin/chromium), TEST_OUTPUT (default test-output).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const binary = process.argv[2] ?? 'bin/customer-api';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const outDir = process.env.TEST_OUTPUT ?? 'test-output';
const screenshot = join(outDir, 'docs.png'); // the top of the page, the operation opened
const schemaShot = join(outDir, 'docs-customer-schema.png');
const operationId = 'getOrganizationCustomers';
const operationPath = '/organization/getCustomers/{organizationId}';
// The docs need no data and no credentials; --dev only spares configuring a token issuer.
const serveFlags = ['--dev', '--metrics-addr', 'off'];

const failures = [];
let passes = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (ok) passes++;
  else failures.push(what);
};

// startServer runs `customer-api serve --demo` on a free port and resolves with the API's base URL
// from the line it prints on stdout.
function startServer(dataDir) {
  const proc = spawn(binary, ['serve', ...serveFlags, '--addr', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server printed no URL within 30 s')), 30_000);
    proc.on('error', reject);
    proc.on('exit', (code) => reject(new Error(`the server exited with status ${code}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = line.match(/^customer-api listening on (http:\/\/\S+)$/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return { proc, url };
}

const dataDir = mkdtempSync(join(tmpdir(), 'customer-api-docs-'));
mkdirSync(outDir, { recursive: true });
const server = startServer(dataDir);
let browser;
try {
  const base = await server.url;
  const origin = new URL(base).origin;
  console.log(`server at ${base}`);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // The flags this machine's closed network needs. launch() starts from a fresh, empty
    // profile in a temporary user data dir of its own, and removes it on close.
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
  const consoleErrors = [];
  const foreign = [];
  const failed = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  page.on('request', (req) => {
    if (!req.url().startsWith(origin + '/') && !req.url().startsWith('data:')) foreign.push(req.url());
  });
  page.on('requestfailed', (req) => failed.push(`${req.url()}: ${req.failure()?.errorText}`));
  page.on('response', (resp) => {
    if (resp.status() >= 400) failed.push(`${resp.url()}: ${resp.status()}`);
  });

  const resp = await page.goto(`${base}/docs`, { waitUntil: 'networkidle' });
  check(resp?.status() === 200, `GET ${base}/docs answers 200 (got ${resp?.status()})`);
  const headers = resp?.headers() ?? {};
  check(headers['x-frame-options'] === 'DENY', `the page says X-Frame-Options: DENY (got ${headers['x-frame-options']})`);
  const csp = headers['content-security-policy'] ?? '';
  check(csp.includes("default-src 'none'") && csp.includes("frame-ancestors 'none'") && !/script-src[^;]*unsafe/.test(csp),
    `the page has a strict Content-Security-Policy (got ${csp})`);

  const op = page.locator('.opblock-get').filter({ hasText: operationPath });
  await op.first().waitFor({ timeout: 20_000 });
  check(await op.count() === 1, `the operation GET ${operationPath} is listed`);
  check(await op.locator('.opblock-summary-operation-id').innerText() === operationId,
    `the operation shows its id ${operationId}`);
  check(await page.locator('.info .title').innerText().then((t) => t.includes('Cyrexa Customer API')),
    'the title is the contract\'s');

  // "Try it out" sends to the selected server: this instance first, the public gateway second.
  const servers = await page.$$eval('.servers select option', (options) => options.map((o) => o.value));
  check(servers.length === 2 && servers[0] === new URL(base).pathname && servers[1].startsWith('https://gateway.cyrexa.com/'),
    `the servers are this instance, then the public gateway (got ${servers.join(', ')})`);

  const models = page.locator('section.models');
  check(await models.isVisible(), 'the Schemas section is shown');
  const customer = page.locator('#model-Customer');
  check(await customer.count() === 1 && await customer.isVisible(), 'the Customer schema is listed');
  // Open the operation and the Customer schema, so the screenshot shows them.
  await op.locator('.opblock-summary').click();
  await op.locator('.opblock-body').waitFor();
  check(await op.locator('.opblock-body').innerText().then((t) => t.includes('tenantId') && t.includes('token')),
    'the operation shows its tenantId and token headers');
  await customer.locator('.model-box-control').first().click();
  await customer.getByText('customerStatus').first().waitFor({ timeout: 10_000 });
  check(true, 'the Customer schema expands to its properties');

  await customer.screenshot({ path: schemaShot });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: screenshot, fullPage: false });
  console.log(`screenshots saved to ${screenshot} and ${schemaShot}`);

  check(consoleErrors.length === 0, `the console has no errors${consoleErrors.length ? ': ' + consoleErrors.join(' | ') : ''}`);
  check(foreign.length === 0, `every request goes to the service itself${foreign.length ? ': ' + foreign.join(', ') : ''}`);
  check(failed.length === 0, `no request failed${failed.length ? ': ' + failed.join(', ') : ''}`);
} catch (err) {
  check(false, `docs page test: ${err.stack ?? err}`);
} finally {
  await browser?.close();
  server.proc.kill('SIGTERM');
  // Let the server close its database before its directory goes.
  await new Promise((r) => (server.proc.exitCode === null ? server.proc.once('exit', r) : r()));
  rmSync(dataDir, { recursive: true, force: true });
}

console.log(`${passes} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
