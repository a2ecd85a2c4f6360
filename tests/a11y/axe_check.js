#!/usr/bin/env node
// Accessibility check of Charter's HTML pages: each URL given is opened in
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core;
// CHROMIUM overrides the path) and axe-core runs on it with the WCAG 2.x A
// and AA rules. Every violation is printed (impact, rule, help, the first
// elements); the exit status is 1 when any is serious or critical, 2 when a
// page cannot be checked (not 2xx, or 4xx/5xx unless the URL is prefixed
// with "STATUS=" e.g. "404=http://.../?organisation=nope" for an error page
// that is meant to be checked as it is), else 0.
//
//   node tests/a11y/axe_check.js URL...
//
// No network beyond the URLs: Chromium starts with background networking,
// component updates and sync off, in a new empty profile.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function main(args) {
  if (!args.length) {
    console.error('usage: axe_check.js [STATUS=]URL...');
    return 2;
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-axe-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    bypassCSP: true, // the pages forbid scripts; axe is the test's, not the page's
    args: FLAGS,
  });
  let serious = 0, broken = 0;
  try {
    for (const arg of args) {
      const m = /^(\d{3})=(.*)$/.exec(arg);
      const want = m ? Number(m[1]) : 0, url = m ? m[2] : arg;
      const page = await ctx.newPage();
      const resp = await page.goto(url, { waitUntil: 'load' });
      const status = resp ? resp.status() : 0;
      if (want ? status !== want : !(status >= 200 && status < 300)) {
        console.log(`BROKEN ${url}: HTTP ${status}${want ? ` (expected ${want})` : ''}`);
        broken++;
        await page.close();
        continue;
      }
      await page.addScriptTag({ content: AXE });
      const res = await page.evaluate(() => window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
        resultTypes: ['violations'],
      }));
      const bad = res.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
      console.log(`${bad.length ? 'FAIL' : 'ok  '} ${url}: ${res.violations.length} violation(s), ` +
        `${bad.length} serious or critical (axe-core ${res.testEngine.version})`);
      for (const v of res.violations) {
        const nodes = v.nodes.length;
        console.log(`  [${v.impact}] ${v.id}: ${v.help} (${nodes} element${nodes === 1 ? '' : 's'})`);
        for (const n of v.nodes.slice(0, 3))
          console.log(`      ${n.target.join(' ')}: ${(n.failureSummary || '').split('\n').slice(1, 2).join(' ').trim()}`);
      }
      serious += bad.length;
      await page.close();
    }
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  if (broken) return 2;
  return serious ? 1 : 0;
}

main(process.argv.slice(2)).then(rc => process.exit(rc), err => {
  console.error(`axe_check: ${err && err.stack || err}`);
  process.exit(2);
});
